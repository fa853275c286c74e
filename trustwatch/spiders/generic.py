"""Any agency: listing pages plus `follow` patterns, no site knowledge."""

from trustwatch.spiders.base import SourceSpider


class GenericSpider(SourceSpider):
    name = "generic"
    kind = "generic"
