"""Texts of the portal's frame: navigation, common buttons and messages."""

TEXTS = {
    "en": {
        "shell.skip": "Skip to content",
        "shell.menu": "Menu",
        "shell.signed_out": "Please sign in to continue.",
        "shell.csrf": "Your form expired. Please try again.",
        "shell.language": "Language",
    },
    "es": {
        "shell.skip": "Saltar al contenido",
        "shell.menu": "Menú",
        "shell.signed_out": "Inicia sesión para continuar.",
        "shell.csrf": "El formulario ha caducado. Inténtalo de nuevo.",
        "shell.language": "Idioma",
    },
}
