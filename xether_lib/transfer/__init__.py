"""Moving bytes to and from object storage over pre-signed URLs (API.md §5, §7, §8).

`download.py` downloads artifacts (resumable, verified, atomic); `storage_errors.py` turns a
store's XML error answer into a StorageError; uploads live beside them. Every request here
goes to a pre-signed URL through `Transport` without credentials.
"""
