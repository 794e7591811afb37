"""Evaluations per second of the policy engine, for fresh and for reused documents.

Usage: ``python benchmarks/policy.py`` (prints two figures; about 10 seconds)

(a) fresh: every request comes with its own JSON documents (different texts, so no parse cache hits): parse + evaluate.
(b) reused: the same parsed policies across many different requests.
Targets on a 2-core machine: (a) >= 15,000/s, (b) >= 100,000/s. Time is the process CPU time, so other load on
the machine does not distort the figures.
"""

from __future__ import annotations

import json
import sys
import time

from pytest_iam.policy import Policy, Request, evaluate

ACCT = "111122223333"


def identity_document(i: int) -> dict:
    """A realistic identity policy: 6 statements, a few conditions, one Deny."""
    bucket = f"data-{i}"
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "ReadData", "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
         "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]},
        {"Sid": "WriteHome", "Effect": "Allow", "Action": "s3:PutObject",
         "Resource": f"arn:aws:s3:::{bucket}/home/${{aws:username}}/*",
         "Condition": {"Bool": {"aws:SecureTransport": "true"}}},
        {"Sid": "Ec2Read", "Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*",
         "Condition": {"StringEquals": {"aws:RequestedRegion": ["eu-west-1", "eu-central-1"]}}},
        {"Sid": "Tables", "Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query"],
         "Resource": f"arn:aws:dynamodb:eu-west-1:{ACCT}:table/orders-{i}"},
        {"Sid": "OfficeOnly", "Effect": "Deny", "Action": "*", "Resource": "*",
         "Condition": {"NotIpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:db8::/32"]},
                       "Bool": {"aws:ViaAWSService": "false"}}},
        {"Sid": "NoIam", "Effect": "Deny", "NotAction": ["iam:Get*", "iam:List*"], "Resource":
            f"arn:aws:iam::{ACCT}:*", "Condition": {"StringNotEquals": {"aws:PrincipalTag/team": "platform"}}},
    ]}


def bucket_document(i: int) -> dict:
    bucket = f"data-{i}"
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "Partner", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
         "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/shared/*"},
        {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Sid": "Vpce", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{bucket}/public/*",
         "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}},
    ]}


BOUNDARY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:*", "ec2:*", "dynamodb:*"], "Resource": "*"},
    {"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"},
    {"Effect": "Allow", "Action": "iam:Get*", "Resource": "*",
     "Condition": {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/*"}}},
]}


def requests_for(i: int) -> list[Request]:
    bucket = f"data-{i}"
    context = {"aws:SecureTransport": "true", "aws:SourceIp": "203.0.113.9", "aws:ViaAWSService": False,
               "aws:RequestedRegion": "eu-west-1", "aws:PrincipalTag/team": "data"}
    user = f"arn:aws:iam::{ACCT}:user/u{i % 7}"
    return [
        Request(user, "s3:GetObject", f"arn:aws:s3:::{bucket}/k{i % 13}", context=context),
        Request(user, "s3:PutObject", f"arn:aws:s3:::{bucket}/home/u{i % 7}/f", context=context),
        Request(user, "ec2:DescribeInstances", "*", context=context),
        Request(user, "iam:CreateUser", f"arn:aws:iam::{ACCT}:user/x", context=context),
        Request("arn:aws:sts::444455556666:assumed-role/partner/s", "s3:GetObject",
                f"arn:aws:s3:::{bucket}/shared/r{i % 5}", ACCT, context=context),
    ]


def bench_fresh(seconds: float) -> float:
    """Parse + evaluate: every request brings its own JSON texts (building the texts is not timed)."""
    n = 0
    i = 0
    elapsed = 0.0
    while elapsed < seconds:
        batch = []
        for _ in range(200):
            i += 1
            request = requests_for(i)[i % 5]
            batch.append((request, json.dumps(identity_document(i)), json.dumps(bucket_document(i))))
        t0 = time.process_time()
        for request, identity_text, bucket_text in batch:
            evaluate(request, [identity_text], resource_policy=bucket_text)
        elapsed += time.process_time() - t0
        n += len(batch)
    return n / elapsed


def bench_reused(seconds: float) -> float:
    """Evaluate with parsed policies reused across many different requests."""
    identity = [Policy.parse(identity_document(i), "identity") for i in range(3)]
    bucket = Policy.parse(bucket_document(1), "resource")
    boundary = Policy.parse(BOUNDARY, "boundary")
    requests = [r for i in range(1, 60) for r in requests_for(i)]
    n = 0
    start = time.process_time()
    while time.process_time() - start < seconds:
        for request in requests:
            evaluate(request, identity, resource_policy=bucket, permissions_boundary=boundary)
        n += len(requests)
    return n / (time.process_time() - start)


def main(argv: list[str]) -> None:
    seconds = float(argv[1]) if len(argv) > 1 else 4.0
    fresh = bench_fresh(seconds)
    reused = bench_reused(seconds)
    print(f"(a) fresh documents per request (parse + evaluate): {fresh:,.0f} evaluations/s (target >= 15,000)")
    print(f"(b) parsed policies reused across requests:          {reused:,.0f} evaluations/s (target >= 100,000)")


if __name__ == "__main__":
    main(sys.argv)
