"""HTTP handlers of scheduling: points, services, hours, availability, the hours feed."""

from __future__ import annotations


def scheduling_handlers() -> list[object]:
    from scheduling.feed_api import HoursFeedController
    from scheduling.open_formats_api import OpenFormatsController
    from scheduling.points_api import PointController, SearchController

    return [PointController, SearchController, HoursFeedController, OpenFormatsController]
