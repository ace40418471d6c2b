#!/usr/bin/env python3
"""The example app in Python: users of an Auth0 tenant read and write users/<their id>/ in a new bucket.

MyAppStack is the README's Python quick start, whose constructor body CI checks against jsii-rosetta's
translation of the TypeScript quick start (scripts/check-python-snippets.ts). Run it with
`pip install -r requirements.txt && cdk synth` in this folder.
"""
from aws_cdk import App

from aws_cdk import CfnOutput, Stack
from constructs import Construct
from cdk_token_delegation import JwtIssuer, TokenDelegation


class MyAppStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)

        delegation = TokenDelegation(self, "Delegation",
            issuers=[JwtIssuer.oidc(
                issuer_url="https://tenant.eu.auth0.com/",
                audiences=["YOUR_CLIENT_ID"]
            )],
            allowed_origins=["https://app.example.com"]
        )
        CfnOutput(self, "DelegationUrl", value=delegation.endpoint_url)
        CfnOutput(self, "BucketName", value=delegation.bucket.bucket_name)


app = App()
MyAppStack(app, "MyAppStack")
app.synth()
