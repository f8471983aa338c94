"""Where a page may send the user next: only paths of this site."""
from urllib.parse import urlsplit


def local_path(target, fallback):
    """`target` when it is a path of this site, else `fallback`.

    Browsers read "//host", "/\\host" and paths with control characters or tabs as
    another site, so those fall back too.
    """
    if not target or not target.startswith("/") or "\\" in target:
        return fallback
    if any(ord(char) < 0x21 or ord(char) == 0x7F for char in target):
        return fallback
    parts = urlsplit(target)
    return fallback if parts.scheme or parts.netloc else target
