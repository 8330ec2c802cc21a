"""The staff management handlers, registered together by `create_app`."""

from __future__ import annotations


def staff_management_handlers() -> list[object]:
    from staff.audit_api import StaffAuditController
    from staff.booking_api import StaffBookingController
    from staff.desk_api import StaffDeskController as ClerkDeskController
    from staff.desks_api import StaffDeskController
    from staff.feed_api import StaffFeedController, StaffFeedTokenController
    from staff.points_api import StaffPointController
    from staff.premises_api import StaffPremisesController
    from staff.queue_api import StaffQueueController
    from staff.search_api import StaffSearchController
    from staff.services_api import StaffServiceController
    from staff.special_days import StaffSpecialDayController
    from staff.statistics import StaffStatisticsController
    from staff.visits_api import StaffVisitController
    from staff.week_api import StaffWeekController

    return [
        StaffPointController,
        StaffServiceController,
        StaffSpecialDayController,
        StaffDeskController,
        StaffVisitController,
        StaffBookingController,
        ClerkDeskController,
        StaffWeekController,
        StaffFeedTokenController,
        StaffFeedController,
        StaffAuditController,
        StaffQueueController,
        StaffStatisticsController,
        StaffSearchController,
        StaffPremisesController,
    ]
