"""Illinois State Police: LEADS page, press releases, FOIA; documents are GetFile links."""

from trustwatch.spiders.base import SourceSpider


class IspSpider(SourceSpider):
    name = "isp"
    kind = "isp"
