"""Polish. Plain, polite "Ty" form as on gov.pl; no sentence depends on the visitor's gender."""

from notifications.messages.catalog import Catalog, KindText, SmsTexts

CATALOG = Catalog(
    language="pl",
    weekdays=("poniedziałek", "wtorek", "środa", "czwartek", "piątek", "sobota", "niedziela"),
    months=(
        "stycznia",
        "lutego",
        "marca",
        "kwietnia",
        "maja",
        "czerwca",
        "lipca",
        "sierpnia",
        "września",
        "października",
        "listopada",
        "grudnia",
    ),
    long_date="{weekday}, {day} {month} {year}",
    short_date="{day} {month} {year}",
    greeting="Dzień dobry,",
    when="Kiedy",
    where="Gdzie",
    service="Sprawa",
    desk="Stanowisko",
    visitor="Imię i nazwisko",
    reference="Numer rezerwacji",
    bring="Co zabrać ze sobą",
    manage="Jeśli nie możesz przyjść, odwołaj wizytę lub zmień jej termin tutaj:",
    rebook="Nowy termin zarezerwujesz tutaj:",
    see="Szczegóły wizyty znajdziesz tutaj:",
    alternative_offer=(
        "Zamiast niej rezerwujemy dla Ciebie inny termin: {alternative_when}, "
        "{alternative_place}. Czeka on na Ciebie do {alternative_until}."
    ),
    alternative_accept="Aby przyjąć ten termin, otwórz ten link i potwierdź:",
    alternative_release=(
        "Jeśli go nie potrzebujesz, zwolnij go tutaj, żeby mógł z niego skorzystać ktoś inny:"
    ),
    alternative_none=(
        "Nie znaleźliśmy innego wolnego terminu ani w tym punkcie, ani w innym punkcie w mieście."
    ),
    kiosk=(
        "Po przyjściu przyłóż ten kod do czytnika kiosku przy wejściu albo wpisz tam "
        "numer rezerwacji {reference}. Otrzymasz numer, który pojawi się na ekranie w "
        "poczekalni."
    ),
    cant_come="Jednak nie możesz przyjść? Daj nam znać tutaj, a termin dostanie ktoś inny:",
    signoff="Pozdrawiamy",
    by_phone="Telefonicznie: {point} zadzwoni do Państwa pod numer {phone}",
    by_video="Przez wideo, w tym pokoju: {url}",
    people="Liczba osób",
    automatic=(
        "Ta wiadomość została wysłana automatycznie. Jeśli masz pytania, napisz do nas: {email}"
    ),
    confirmation_request=KindText(
        subject="Potwierdź wizytę {reference}",
        lead=(
            "Dziękujemy za rezerwację. Termin jest na razie tylko wstępnie zarezerwowany: "
            "wizyta odbędzie się dopiero wtedy, gdy ją potwierdzisz.",
        ),
        action="Aby potwierdzić wizytę, otwórz ten link:",
        after=(
            "Potwierdź wizytę do {deadline}.",
            "Jeśli nie potwierdzisz wizyty, termin zostanie zwolniony dla innych osób.",
            "Jeśli ta wiadomość trafiła do Ciebie przez pomyłkę, po prostu ją zignoruj.",
        ),
    ),
    confirmed=KindText(
        subject="Wizyta potwierdzona: {when_short}",
        lead=("Dziękujemy, Twoja wizyta jest potwierdzona. Czekamy na Ciebie.",),
    ),
    moved=KindText(
        subject="Nowy termin wizyty: {when_short}",
        lead=(
            "Termin Twojej wizyty został zmieniony. Nowy termin podajemy poniżej.",
            "Poprzedni termin ({previous}) jest już nieaktualny.",
        ),
    ),
    cancelled=KindText(
        subject="Wizyta {reference} odwołana",
        lead=(
            "Twoja wizyta została odwołana zgodnie z Twoją prośbą.",
            "Jeśli nadal potrzebujesz pomocy, możesz w każdej chwili zarezerwować nowy termin.",
        ),
    ),
    cancelled_by_office=KindText(
        subject="Wizyta {reference} odwołana przez punkt",
        lead=(
            "Przepraszamy, ale punkt musi odwołać Twoją wizytę.",
            "Powód: {reason}",
        ),
    ),
    reminder=KindText(
        subject="Przypomnienie o wizycie: {when_short}",
        lead=("Przypominamy o Twojej wizycie: {when}, {place}.",),
    ),
    hold_expired=KindText(
        subject="Rezerwacja {reference} wygasła",
        lead=(
            "Wizyta nie została potwierdzona na czas, więc rezerwacja wygasła, "
            "a termin został zwolniony.",
            "Jeśli nadal potrzebujesz pomocy, zarezerwuj nowy termin.",
        ),
    ),
    waitlist_offer=KindText(
        subject="Zwolnił się termin: {when_short}",
        lead=(
            "Zwolnił się termin wizyty. Jesteś na liście oczekujących, "
            "więc proponujemy go najpierw Tobie.",
        ),
        action="Jeśli ten termin Ci odpowiada, otwórz ten link, aby go zarezerwować:",
        after=(
            "Termin czeka na Ciebie tylko przez krótki czas. Potem zaproponujemy go "
            "kolejnej osobie z listy oczekujących.",
        ),
    ),
    manage_link=KindText(
        subject="Twój link do wizyty {reference}",
        lead=(
            "Na Twoją prośbę wysyłamy ponownie link do Twojej wizyty. Możesz w nim sprawdzić "
            "szczegóły wizyty, zmienić jej termin lub ją odwołać.",
        ),
        after=(
            "Jeśli ta wiadomość trafiła do Ciebie przez pomyłkę, zignoruj ją: link wysyłamy tylko "
            "na adres podany przy rezerwacji.",
        ),
    ),
    sms=SmsTexts(
        confirmation_request=(
            "Potwierdź wizytę {reference} {when}, {place}: {link}",
            "Potwierdź wizytę {reference} {when}: {link}",
        ),
        confirmed=(
            "Wizyta {reference} potwierdzona: {when}, {place}. Zmiana lub odwołanie: {link}",
            "Wizyta {reference} potwierdzona: {when}. {link}",
        ),
        moved=(
            "Wizyta {reference} przeniesiona na {when}, {place}. Szczegóły: {link}",
            "Wizyta {reference} przeniesiona na {when}. {link}",
        ),
        cancelled=("Wizyta {reference} ({when}) została odwołana. Szczegóły: {link}",),
        cancelled_by_office=(
            "Przepraszamy, punkt odwołał wizytę {reference} ({when}). {link}",
            "Wizyta {reference} ({when}) odwołana przez punkt. {link}",
        ),
        reminder=(
            "Przypomnienie: wizyta {reference} {when}, {place}. Nie możesz przyjść? {link}",
            "Przypomnienie: wizyta {when}. Nie możesz przyjść? {link}",
        ),
        hold_expired=(
            "Wizyta {reference} nie została potwierdzona na czas i wygasła. Nowa: {link}",
            "Wizyta {reference} wygasła. Nowa: {link}",
        ),
        waitlist_offer=(
            "Zwolnił się termin dla Ciebie: {when}, {place}. Zarezerwuj szybko: {link}",
            "Wolny termin dla Ciebie: {when}. {link}",
        ),
    ),
)
