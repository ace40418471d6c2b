"""boto3 credentials from a cdk-token-delegation endpoint, renewed by botocore before they expire.

The Python counterpart of the npm package cdk-token-delegation-credentials:

    session = token_delegation_session(DELEGATION_URL, id_token=lambda: auth.current_id_token(),
                                       region_name="eu-west-1")
    s3 = session.client("s3")

`id_token` is called for every exchange, so it may return a renewed token. botocore asks for new
credentials `refresh_before_expiry_seconds` before they expire (advisory: a failure keeps the old ones
while they last) and at the latest 60 s before (mandatory: a failure raises). Standard library and
botocore only; tested with Debian's python3-boto3 against `cdk-token-delegation local`.
"""
import json
import time
import urllib.error
import urllib.request

import boto3
import botocore.session
from botocore.credentials import CredentialProvider, CredentialResolver, DeferredRefreshableCredentials

RETRYABLE_STATUSES = (429, 502, 503, 504)


class TokenDelegationError(Exception):
    """A failed exchange: the HTTP status (0 without an answer), the endpoint's error and description."""

    def __init__(self, status, code, description, retryable, retry_after=None):
        super().__init__(f"Token delegation failed: {f'HTTP {status} ' if status else ''}{code}: {description}")
        self.status, self.code, self.description = status, code, description
        self.retryable, self.retry_after = retryable, retry_after


def exchange(endpoint, id_token, role=None, duration_seconds=None, timeout=30, max_attempts=3, max_retry_after=10):
    """One exchange (retrying 429/502/503/504 after Retry-After), as botocore's refresh metadata."""
    fields = {"role": role, "durationSeconds": duration_seconds}
    body = json.dumps({k: v for k, v in fields.items() if v is not None}).encode()
    for attempt in range(1, max_attempts + 1):
        request = urllib.request.Request(endpoint, data=body, method="POST", headers={
            "Authorization": f"Bearer {id_token()}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                answer = json.load(response)
            credentials = answer["Credentials"]
            return {"access_key": credentials["AccessKeyId"], "secret_key": credentials["SecretAccessKey"],
                    "token": credentials["SessionToken"], "expiry_time": credentials["Expiration"]}
        except urllib.error.HTTPError as error:
            try:
                refusal = json.load(error)
            except ValueError:
                refusal = {}
            wait = error.headers.get("Retry-After", "1")
            wait = int(wait) if wait.isdigit() else None
            failure = TokenDelegationError(error.code, refusal.get("error", "http_error"), refusal.get("error_description", ""),
                                           error.code in RETRYABLE_STATUSES, wait)
        except (urllib.error.URLError, OSError) as error:
            raise TokenDelegationError(0, "network_error", "the endpoint could not be reached", True) from error
        if not failure.retryable or attempt == max_attempts or wait is None or wait > max_retry_after:
            raise failure
        time.sleep(wait)


class TokenDelegationCredentialProvider(CredentialProvider):
    METHOD = CANONICAL_NAME = "cdk-token-delegation"

    def __init__(self, endpoint, id_token, refresh_before_expiry_seconds=300, **options):
        super().__init__()
        self._refresh = lambda: exchange(endpoint, id_token, **options)
        self._window = refresh_before_expiry_seconds

    def load(self):
        credentials = DeferredRefreshableCredentials(refresh_using=self._refresh, method=self.METHOD)
        # botocore's own two windows (15 and 10 minutes by default), set per instance.
        credentials._advisory_refresh_timeout = self._window
        credentials._mandatory_refresh_timeout = min(60, self._window)
        return credentials


def token_delegation_session(endpoint, id_token, region_name=None, **options):
    """A boto3 Session whose only credentials come from the endpoint."""
    session = botocore.session.get_session()
    session.register_component("credential_provider",
                               CredentialResolver([TokenDelegationCredentialProvider(endpoint, id_token, **options)]))
    return boto3.Session(botocore_session=session, region_name=region_name)
