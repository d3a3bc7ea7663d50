import pyjokes


def one_joke() -> str:
    return pyjokes.get_joke(language="en", category="neutral")
