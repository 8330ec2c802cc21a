-- "Send me my link again": a message of its own kind, carrying the manage page's link
-- (booking/links.py derives it; nothing new is stored).
alter table outbox drop constraint outbox_kind_check;
alter table outbox add constraint outbox_kind_check check (kind in (
    'confirmation_request', 'confirmed', 'moved', 'cancelled', 'cancelled_by_office',
    'reminder', 'hold_expired', 'waitlist_offer', 'manage_link'));
