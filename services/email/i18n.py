"""Languages of the welcome email and the landing page: catalogs, negotiation, dates.

The catalogs are plain dicts (a few dozen strings, no gettext build step). Strings are plain
text with ``str.format`` fields: the HTML templates escape them like any other value, so a
catalog string must never carry markup.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Final

from markupsafe import escape

DEFAULT_LANGUAGE: Final = "en"

# French puts a no-break space before ":", "?", "!" and ";".
_NBSP = "\u00a0"
# German sets off an aside with a spaced en dash.
_DASH = "\u2013"

CATALOGS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "product_generic": "the authenticator app",
        "product_heading": "Authenticator app",
        "email.subject": "Set up {product} for {company}",
        "email.subject_no_company": "Set up {product}",
        "email.preheader": "Install the app on your phone and finish setting up. "
        "The link expires on {expiry}.",
        "email.greeting": "Hello {name},",
        "email.greeting_anonymous": "Hello,",
        "email.invited": "{company} has invited you to set up {product}, the app you will use "
        "to sign in without a password.",
        "email.invited_no_company": "You have been invited to set up {product}, the app you "
        "will use to sign in without a password.",
        "email.open_on_phone": "Open this link on your phone to install the app and finish "
        "setting up:",
        "email.button": "Set up {product}",
        "email.link_fallback": "If the button does not work, copy this address into your "
        "phone's browser:",
        "email.get_app": "You can also get the app directly:",
        "email.expiry": "The link works once and expires on {expiry}.",
        "email.not_expected": "If you were not expecting this email, you can ignore it.",
        "email.support": "Questions? Contact {support}.",
        "email.footer": "Sent by {sender} on behalf of {company}.",
        "email.footer_no_company": "Sent by {sender}.",
        "colon": ":",
        "store.app_store": "Download on the App Store",
        "store.play_store": "Get it on Google Play",
        "page.title": "Set up {product}",
        "page.invited": "{company} has invited you to set up {product}, the app you will use "
        "to sign in without a password.",
        "page.invited_no_company": "You have been invited to set up {product}, the app you "
        "will use to sign in without a password.",
        "page.step_install": "Step 1: Install the app",
        "page.step_open": "Step 2: Finish setting up",
        "page.other_platform": "Not the right phone?",
        "page.open_help": "Once the app is installed, come back to this page and tap the "
        "button below. It opens the app and links it to your account.",
        "page.open_button": "Open {product} and finish",
        "page.scan_heading": "Continue on your phone",
        "page.scan_help": "Scan this code with your phone's camera. It opens this page on "
        "your phone.",
        "page.qr_label": "QR code that opens this page on your phone",
        "page.scan_address": "Or type this address into your phone's browser:",
        "page.desktop_stores": "Get the app",
        "page.desktop_open": "Already have the app on this device?",
        "page.desktop_open_help": "Open it with this link to finish setting up.",
        "page.expiry": "This link works once and expires on {expiry}.",
        "page.help_heading": "Need help?",
        "page.contact_support": "Contact {support}.",
        "page.contact_admin": "Contact your IT administrator.",
        "page.skip": "Skip to content",
        "error.expired.title": "This link has expired",
        "error.expired.body": "Enrollment links are only valid for a limited time. "
        "Ask for a new one to finish setting up.",
        "error.used.title": "This link has already been used",
        "error.used.body": "Each enrollment link works only once. If you have not finished "
        "setting up the app, ask for a new link.",
        "error.revoked.title": "This link is no longer valid",
        "error.revoked.body": "It was replaced by a newer link or withdrawn. Look for a more "
        "recent email, or ask for a new link.",
        "error.unknown.title": "This link is not valid",
        "error.unknown.body": "Check that you opened the complete link from your email. "
        "If it still does not work, ask for a new link.",
    },
    "de": {
        "product_generic": "die Authenticator-App",
        "product_heading": "Authenticator-App",
        "email.subject": "Richten Sie {product} für {company} ein",
        "email.subject_no_company": "Richten Sie {product} ein",
        "email.preheader": "Installieren Sie die App auf Ihrem Smartphone und schließen Sie "
        "die Einrichtung ab. Der Link läuft am {expiry} ab.",
        "email.greeting": "Hallo {name},",
        "email.greeting_anonymous": "Hallo,",
        "email.invited": "{company} hat Sie eingeladen, {product} einzurichten "
        f"{_DASH} die App, mit der Sie sich künftig ohne Passwort anmelden.",
        "email.invited_no_company": "Sie wurden eingeladen, {product} einzurichten "
        f"{_DASH} die App, mit der Sie sich künftig ohne Passwort anmelden.",
        "email.open_on_phone": "Öffnen Sie diesen Link auf Ihrem Smartphone, um die App zu "
        "installieren und die Einrichtung abzuschließen:",
        "email.button": "{product} einrichten",
        "email.link_fallback": "Falls die Schaltfläche nicht funktioniert, kopieren Sie diese "
        "Adresse in den Browser Ihres Smartphones:",
        "email.get_app": "Sie können die App auch direkt herunterladen:",
        "email.expiry": "Der Link kann nur einmal verwendet werden und läuft am {expiry} ab.",
        "email.not_expected": "Falls Sie diese E-Mail nicht erwartet haben, können Sie sie "
        "ignorieren.",
        "email.support": "Fragen? Wenden Sie sich an {support}.",
        "email.footer": "Gesendet von {sender} im Auftrag von {company}.",
        "email.footer_no_company": "Gesendet von {sender}.",
        "colon": ":",
        "store.app_store": "Laden im App Store",
        "store.play_store": "Jetzt bei Google Play",
        "page.title": "{product} einrichten",
        "page.invited": "{company} hat Sie eingeladen, {product} einzurichten "
        f"{_DASH} die App, mit der Sie sich künftig ohne Passwort anmelden.",
        "page.invited_no_company": "Sie wurden eingeladen, {product} einzurichten "
        f"{_DASH} die App, mit der Sie sich künftig ohne Passwort anmelden.",
        "page.step_install": "Schritt 1: App installieren",
        "page.step_open": "Schritt 2: Einrichtung abschließen",
        "page.other_platform": "Anderes Smartphone?",
        "page.open_help": "Sobald die App installiert ist, kehren Sie zu dieser Seite zurück "
        "und tippen auf die Schaltfläche unten. Sie öffnet die App und verknüpft sie mit "
        "Ihrem Konto.",
        "page.open_button": "{product} öffnen und abschließen",
        "page.scan_heading": "Auf dem Smartphone fortfahren",
        "page.scan_help": "Scannen Sie diesen Code mit der Kamera Ihres Smartphones. Er öffnet "
        "diese Seite auf Ihrem Smartphone.",
        "page.qr_label": "QR-Code, der diese Seite auf Ihrem Smartphone öffnet",
        "page.scan_address": "Oder geben Sie diese Adresse im Browser Ihres Smartphones ein:",
        "page.desktop_stores": "App herunterladen",
        "page.desktop_open": "Ist die App bereits auf diesem Gerät installiert?",
        "page.desktop_open_help": "Öffnen Sie sie mit diesem Link, um die Einrichtung "
        "abzuschließen.",
        "page.expiry": "Dieser Link kann nur einmal verwendet werden und läuft am {expiry} ab.",
        "page.help_heading": "Brauchen Sie Hilfe?",
        "page.contact_support": "Wenden Sie sich an {support}.",
        "page.contact_admin": "Wenden Sie sich an Ihre IT-Administration.",
        "page.skip": "Zum Inhalt springen",
        "error.expired.title": "Dieser Link ist abgelaufen",
        "error.expired.body": "Einrichtungslinks sind nur begrenzte Zeit gültig. Fordern Sie "
        "einen neuen Link an, um die Einrichtung abzuschließen.",
        "error.used.title": "Dieser Link wurde bereits verwendet",
        "error.used.body": "Jeder Einrichtungslink funktioniert nur einmal. Falls Sie die "
        "Einrichtung noch nicht abgeschlossen haben, fordern Sie einen neuen Link an.",
        "error.revoked.title": "Dieser Link ist nicht mehr gültig",
        "error.revoked.body": "Er wurde durch einen neueren Link ersetzt oder zurückgezogen. "
        "Suchen Sie nach einer neueren E-Mail oder fordern Sie einen neuen Link an.",
        "error.unknown.title": "Dieser Link ist ungültig",
        "error.unknown.body": "Prüfen Sie, ob Sie den vollständigen Link aus Ihrer E-Mail "
        "geöffnet haben. Falls er weiterhin nicht funktioniert, fordern Sie einen neuen an.",
    },
    "fr": {
        "product_generic": "l'application d'authentification",
        "product_heading": "Application d'authentification",
        "email.subject": "Configurez {product} pour {company}",
        "email.subject_no_company": "Configurez {product}",
        "email.preheader": "Installez l'application sur votre téléphone et terminez la "
        "configuration. Le lien expire le {expiry}.",
        "email.greeting": "Bonjour {name},",
        "email.greeting_anonymous": "Bonjour,",
        "email.invited": "{company} vous invite à configurer {product}, l'application qui "
        "vous permettra de vous connecter sans mot de passe.",
        "email.invited_no_company": "Vous êtes invité à configurer {product}, l'application "
        "qui vous permettra de vous connecter sans mot de passe.",
        "email.open_on_phone": f"Ouvrez ce lien sur votre téléphone pour installer "
        f"l'application et terminer la configuration{_NBSP}:",
        "email.button": "Configurer {product}",
        "email.link_fallback": f"Si le bouton ne fonctionne pas, copiez cette adresse dans le "
        f"navigateur de votre téléphone{_NBSP}:",
        "email.get_app": f"Vous pouvez aussi télécharger l'application directement{_NBSP}:",
        "email.expiry": "Le lien ne peut être utilisé qu'une fois et expire le {expiry}.",
        "email.not_expected": "Si vous n'attendiez pas cet e-mail, vous pouvez l'ignorer.",
        "email.support": f"Des questions{_NBSP}? Contactez {{support}}.",
        "email.footer": "Envoyé par {sender} pour le compte de {company}.",
        "email.footer_no_company": "Envoyé par {sender}.",
        "colon": f"{_NBSP}:",
        "store.app_store": "Télécharger dans l'App Store",
        "store.play_store": "Disponible sur Google Play",
        "page.title": "Configurer {product}",
        "page.invited": "{company} vous invite à configurer {product}, l'application qui "
        "vous permettra de vous connecter sans mot de passe.",
        "page.invited_no_company": "Vous êtes invité à configurer {product}, l'application "
        "qui vous permettra de vous connecter sans mot de passe.",
        "page.step_install": f"Étape 1{_NBSP}: installer l'application",
        "page.step_open": f"Étape 2{_NBSP}: terminer la configuration",
        "page.other_platform": f"Un autre téléphone{_NBSP}?",
        "page.open_help": "Une fois l'application installée, revenez sur cette page et "
        "appuyez sur le bouton ci-dessous. Il ouvre l'application et la relie à votre compte.",
        "page.open_button": "Ouvrir {product} et terminer",
        "page.scan_heading": "Continuer sur votre téléphone",
        "page.scan_help": "Scannez ce code avec l'appareil photo de votre téléphone. Il ouvre "
        "cette page sur votre téléphone.",
        "page.qr_label": "Code QR qui ouvre cette page sur votre téléphone",
        "page.scan_address": f"Ou saisissez cette adresse dans le navigateur de votre "
        f"téléphone{_NBSP}:",
        "page.desktop_stores": "Télécharger l'application",
        "page.desktop_open": f"L'application est déjà installée sur cet appareil{_NBSP}?",
        "page.desktop_open_help": "Ouvrez-la avec ce lien pour terminer la configuration.",
        "page.expiry": "Ce lien ne peut être utilisé qu'une fois et expire le {expiry}.",
        "page.help_heading": f"Besoin d'aide{_NBSP}?",
        "page.contact_support": "Contactez {support}.",
        "page.contact_admin": "Contactez votre administrateur informatique.",
        "page.skip": "Aller au contenu",
        "error.expired.title": "Ce lien a expiré",
        "error.expired.body": "Les liens de configuration ne sont valables que pendant une "
        "durée limitée. Demandez un nouveau lien pour terminer la configuration.",
        "error.used.title": "Ce lien a déjà été utilisé",
        "error.used.body": "Chaque lien de configuration ne fonctionne qu'une fois. Si vous "
        "n'avez pas terminé la configuration, demandez un nouveau lien.",
        "error.revoked.title": "Ce lien n'est plus valable",
        "error.revoked.body": "Il a été remplacé par un lien plus récent ou retiré. Cherchez un "
        "e-mail plus récent ou demandez un nouveau lien.",
        "error.unknown.title": "Ce lien n'est pas valable",
        "error.unknown.body": "Vérifiez que vous avez ouvert le lien complet de votre e-mail. "
        "S'il ne fonctionne toujours pas, demandez un nouveau lien.",
    },
}

LANGUAGES: Final = tuple(CATALOGS)

_MONTHS: Final[dict[str, tuple[str, ...]]] = {
    "en": (
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
    "de": (
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ),
    "fr": (
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ),
}


def _ranges(candidate: str) -> list[str]:
    """Language ranges of one value, best first: a single tag or an Accept-Language list."""
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(candidate.split(",")):
        tag, _, params = part.partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        # POSIX locales ("de_CH.UTF-8@euro") and BCP 47 tags ("de-CH") alike.
        tag = tag.strip().split(".")[0].split("@")[0].replace("_", "-").lower()
        if tag and quality > 0:
            weighted.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(weighted)]


def negotiate(*candidates: str | None) -> str:
    """The supported language ("en", "de", "fr") that best fits the first usable candidate.

    Each candidate is a locale (``en_US``, ``de-CH``), a language (``fr``) or an
    Accept-Language-like list (``"fr-CA, fr;q=0.9"``); they are tried in order and the
    first that names a supported language wins. Falls back to English.
    """
    for candidate in candidates:
        if not candidate:
            continue
        for tag in _ranges(candidate):
            primary = tag.split("-")[0]
            if primary in CATALOGS:
                return primary
    return DEFAULT_LANGUAGE


def translate(language: str, key: str, **values: object) -> str:
    """The catalog string ``key`` in ``language`` (English if missing), with ``values`` filled."""
    return _lookup(language, key).format(**values)


def _lookup(language: str, key: str) -> str:
    catalog = CATALOGS.get(language, CATALOGS[DEFAULT_LANGUAGE])
    return catalog.get(key) or CATALOGS[DEFAULT_LANGUAGE][key]


def translator(language: str, *, markup: bool = False) -> Callable[..., str]:
    """``translate`` bound to one language, as templates call it: ``t("page.title", ...)``.

    With ``markup`` (for HTML templates) the result is ``Markup``: the catalog string and
    every value are escaped, except values that are already ``Markup`` (a link built in the
    template), so a sentence can carry a link without the catalog holding any HTML.
    """

    def t(key: str, **values: object) -> str:
        if markup:
            return escape(_lookup(language, key)).format(**values)
        return translate(language, key, **values)

    return t


def format_date(value: dt.date, language: str) -> str:
    """A date written out the way the language writes it (``3 March 2026``, ``3. März 2026``)."""
    month = _MONTHS.get(language, _MONTHS[DEFAULT_LANGUAGE])[value.month - 1]
    if language == "de":
        return f"{value.day}. {month} {value.year}"
    if language == "fr":
        day = "1er" if value.day == 1 else str(value.day)
        return f"{day} {month} {value.year}"
    return f"{value.day} {month} {value.year}"


def format_datetime(value: dt.datetime, language: str) -> str:
    """A naive-UTC (or aware) moment as a date and 24-hour UTC time in the language."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    date = format_date(value, language)
    clock = f"{value:%H:%M} UTC"
    if language == "de":
        return f"{date} um {clock}"
    if language == "fr":
        return f"{date} à {clock}"
    return f"{date} at {clock}"
