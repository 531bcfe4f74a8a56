"""Uploads that stop at the limit: a file over its kind's size is not read to the end."""

from django.core.files.uploadhandler import FileUploadHandler, StopUpload


class SizeLimitUploadHandler(FileUploadHandler):
    """Counts each file's bytes as they arrive and stops reading the request as soon as
    one passes `max_bytes`; the next handlers (memory up to 2.5 Mo, then a temporary file
    on disk) store what is under the limit, so a 50 Mo video never sits in memory.

    The view reads `request.upload_too_large` (the file's name) to tell the user.
    """

    def __init__(self, request, max_bytes: int):
        super().__init__(request)
        self.max_bytes = max_bytes
        self.received = 0
        request.upload_too_large = None

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.max_bytes:
            self.request.upload_too_large = self.file_name
            # connection_reset: the rest of the body is not read at all.
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size):
        return None
