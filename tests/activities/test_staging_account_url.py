"""The API (run logs) and the activities find a run's staging account at the same address."""

from __future__ import annotations

import pytest

from activities.support.deployment_template import BuildVmNames
from shared import naming
from shared.bootstrap import bootstrap, storage_account_url
from shared.service.run_log import log_account
from shared.settings import Settings

RUN = naming.run_id("00000000-0000-0000-0000-000000000000", "rg", "tpl", 3)


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (Settings(azure_mode="azure"), f"https://{naming.staging_account_of_run(RUN)}.blob.core.windows.net"),
        (
            Settings(azure_mode="azure", azure_cloud="AzureChinaCloud"),
            f"https://{naming.staging_account_of_run(RUN)}.blob.core.chinacloudapi.cn",
        ),
        (Settings(azure_mode="sim", KILN_STORAGE_CONNECTION_STRING="UseDevelopmentStorage=true"), None),
        (
            Settings(
                azure_mode="sim",
                KILN_STORAGE_CONNECTION_STRING="AccountName=a;AccountKey=k;BlobEndpoint=http://127.0.0.1:4711/a/",
            ),
            "http://127.0.0.1:4711/a",
        ),
    ],
)
def test_the_log_reader_and_the_activities_agree_on_the_staging_account_address(
    settings: Settings, expected: str | None
) -> None:
    account = BuildVmNames.for_run(RUN).storage_account

    kiln = bootstrap(settings)
    api = storage_account_url(settings, log_account(RUN))  # what kiln.staging_blobs opens for the log
    activities = kiln.build.storage_account_url(account)

    assert log_account(RUN) == account
    assert kiln.service.run_log._blobs_for == kiln.staging_blobs
    assert api == activities
    assert api == (expected or "http://127.0.0.1:10000/devstoreaccount1")
