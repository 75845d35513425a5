"""Uploads past the size limits are not written to disk: the form refuses them by size alone."""

from django.conf import settings
from django.core.files.uploadhandler import TemporaryFileUploadHandler


class SizeLimitedUploadHandler(TemporaryFileUploadHandler):
    """Django's temporary-file handler, which stops keeping a file's bytes once the form would
    refuse the file for its size: past the limit for one file, or past the limit for all files
    together (counting, like `uploads.check_files`, only files within their own limit).

    The file still reports its full size, so the form names it as too large and never reads
    what was left out. A 5 GB upload costs the parser's time, not the disk's space; the proxy in
    front should cap request bodies too (README, "Production").
    """

    def __init__(self, request=None):
        super().__init__(request)
        self.accepted_bytes = 0  # complete files within the one-file limit, as the form counts them
        self.file_bytes = 0

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.file_bytes = 0

    def receive_data_chunk(self, raw_data, start):
        self.file_bytes = start + len(raw_data)
        too_large = self.file_bytes > settings.TRUSTCENTER_MAX_FILE_BYTES
        too_much = self.accepted_bytes + self.file_bytes > settings.TRUSTCENTER_MAX_SUBMISSION_BYTES
        if too_large or too_much:
            return None
        return super().receive_data_chunk(raw_data, start)

    def file_complete(self, file_size):
        if file_size <= settings.TRUSTCENTER_MAX_FILE_BYTES:
            self.accepted_bytes += file_size
        return super().file_complete(file_size)
