from azure.storage.blob import BlobServiceClient


def test_azurite_serves_blobs_with_etag_guards(azurite):
    svc = BlobServiceClient.from_connection_string(azurite.connection_string)
    container = svc.get_container_client("fixture-check")
    container.create_container()
    blob = container.get_blob_client("a.json")
    first = blob.upload_blob(b"{}")
    assert blob.download_blob().readall() == b"{}"
    assert first["etag"]
