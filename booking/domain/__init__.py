"""The booking domain, pure: a visit's states and legal transitions, the errors in domain words,
the held visit, and the draw's allotment. No web framework, database driver or queue is
imported here (tests/unit/test_booking_domain_is_pure.py checks it); the store and use-cases
around it (booking/store.py, booking/visits.py...) do the I/O."""
