"""The API's JSON parser: DRF's, refusing (400) what it would let through to a 500 — JSON nested
deeper than Python's recursion allows, and strings that are not text (lone UTF-16 surrogates,
which `\\ud800` escapes make and no UTF-8 answer or PostgreSQL column can hold). Its answer is
DRF's own "Malformed request.", in the caller's language."""

import json

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class StrictJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise ParseError() from error
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as error:
            raise ParseError() from error
        except RecursionError as error:
            raise ParseError() from error
        return data
