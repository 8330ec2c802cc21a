"""English: plain British English, day-month-year dates and 24-hour times as in Poland."""

from notifications.messages.catalog import Catalog, KindText, SmsTexts

CATALOG = Catalog(
    language="en",
    weekdays=("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    months=(
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    long_date="{weekday}, {day} {month} {year}",
    short_date="{day} {month} {year}",
    greeting="Hello,",
    when="When",
    where="Where",
    service="Service",
    desk="Desk",
    visitor="Name",
    reference="Booking reference",
    bring="What to bring",
    manage="If you cannot come, please cancel or move your visit here:",
    rebook="You can book a new visit here:",
    see="You can see the visit's details here:",
    alternative_offer=(
        "Instead, we are holding another time for you: {alternative_when}, "
        "{alternative_place}. It is kept for you until {alternative_until}."
    ),
    alternative_accept="To take this time, open this link and confirm:",
    alternative_release="If you do not need it, release it here so that someone else can come:",
    alternative_none=(
        "We could not find another free time for you at this point or at another point in the city."
    ),
    kiosk=(
        "When you arrive, hold this code to the scanner of the kiosk at the entrance, or "
        "type your booking reference {reference} there. You then get a number for the "
        "waiting room's screen."
    ),
    cant_come="Cannot come after all? Tell us here, so that someone else can have the time:",
    signoff="Kind regards,",
    by_phone="By phone: {point} will call you at {phone}",
    by_video="By video, in this room: {url}",
    people="People",
    automatic=(
        "This message was sent automatically. If you have any questions, write to us at {email}"
    ),
    confirmation_request=KindText(
        subject="Please confirm your visit {reference}",
        lead=(
            "Thank you for booking. For now, this time is only held for you: "
            "the visit will take place only after you confirm it.",
        ),
        action="To confirm your visit, open this link:",
        after=(
            "Please confirm it by {deadline}.",
            "If you do not confirm it, the time will be released for other people.",
            "If you received this message by mistake, please ignore it.",
        ),
    ),
    confirmed=KindText(
        subject="Visit confirmed: {when_short}",
        lead=("Thank you, your visit is confirmed. We look forward to seeing you.",),
    ),
    moved=KindText(
        subject="New time for your visit: {when_short}",
        lead=(
            "Your visit has been moved. The new time is below.",
            "The previous time ({previous}) is no longer valid.",
        ),
    ),
    cancelled=KindText(
        subject="Visit {reference} cancelled",
        lead=(
            "Your visit has been cancelled, as you asked.",
            "If you still need help, you are welcome to book a new visit at any time.",
        ),
    ),
    cancelled_by_office=KindText(
        subject="Visit {reference} cancelled by the office",
        lead=(
            "We are sorry, but the office has to cancel your visit.",
            "Reason: {reason}",
        ),
    ),
    reminder=KindText(
        subject="Reminder: your visit on {when_short}",
        lead=("This is a reminder of your visit: {when}, {place}.",),
    ),
    hold_expired=KindText(
        subject="Booking {reference} has expired",
        lead=(
            "The visit was not confirmed in time, so the booking has expired and the time "
            "has been released.",
            "If you still need help, please book a new visit.",
        ),
    ),
    waitlist_offer=KindText(
        subject="A time has become free: {when_short}",
        lead=(
            "A visit time has become free. You are on the waiting list, "
            "so we are offering it to you first.",
        ),
        action="If this time suits you, open this link to book it:",
        after=(
            "The time is held for you only for a short while. After that, we will offer it "
            "to the next person on the waiting list.",
        ),
    ),
    manage_link=KindText(
        subject="Your link to visit {reference}",
        lead=(
            "As you asked, here is the link to your visit again. With it you can see the visit, "
            "move it to another time or cancel it.",
        ),
        after=(
            "If you did not ask for this link, please ignore this message: we send it only to the "
            "address given when booking.",
        ),
    ),
    sms=SmsTexts(
        confirmation_request=(
            "Please confirm your visit {reference} on {when}, {place}: {link}",
            "Please confirm your visit {reference} on {when}: {link}",
        ),
        confirmed=(
            "Visit {reference} confirmed: {when}, {place}. Change or cancel: {link}",
            "Visit {reference} confirmed: {when}. {link}",
        ),
        moved=(
            "Visit {reference} moved to {when}, {place}. Details: {link}",
            "Visit {reference} moved to {when}. {link}",
        ),
        cancelled=("Visit {reference} on {when} is cancelled. Details: {link}",),
        cancelled_by_office=(
            "Sorry, the office has cancelled visit {reference} on {when}. {link}",
            "Visit {reference} on {when} cancelled by the office. {link}",
        ),
        reminder=(
            "Reminder: visit {reference} on {when}, {place}. Cannot come? Tap: {link}",
            "Reminder: visit on {when}. Cannot come? {link}",
        ),
        hold_expired=(
            "Visit {reference} was not confirmed in time and has expired. Book again: {link}",
            "Visit {reference} expired. Book again: {link}",
        ),
        waitlist_offer=(
            "A time is free for you: {when}, {place}. Book it soon: {link}",
            "A time is free for you: {when}. {link}",
        ),
    ),
)
