"""Illinois Attorney General: TRUST/VOICES Act guidance pages and their Page-Attachments."""

from trustwatch.spiders.base import SourceSpider


class AgSpider(SourceSpider):
    name = "ag"
    kind = "ag"
