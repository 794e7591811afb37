"""Read-only EC2 collector: the instances of every region of the account (CIS 1.17, instance profiles).

Usage::

    facts = collect_ec2(factory, ("us-east-1", "eu-west-1"), account_id, partition, errors)
    facts["instances"]         # tuple of Instance: pending, running, stopping or stopped
    facts["instance_regions"]  # the regions asked

One ``DescribeInstances`` per region, paginated (at most 1,000 instances a page). Terminated and shutting-down
instances are left out by a server-side ``instance-state-name`` filter: they run nothing and their profile is gone.
A region that refuses the call (an SCP denying the region, an opt-in region not enabled, a missing permission) is
recorded as unread (``ec2_instances:<region>``), never as a region without instances.
"""

from __future__ import annotations

from typing import Any, Iterable, List

from ..inventory import Instance, instances_source
from .errors import READ_ERRORS, ErrorLog
from .iam import _aware

LIVE_STATES = ("pending", "running", "stopping", "stopped")
PAGE_SIZE = 1000  # DescribeInstances MaxResults: 5 to 1,000


def _name(tags: Any) -> Any:
    return next((t.get("Value") for t in tags or () if t.get("Key") == "Name"), None)


def _region_instances(factory: Any, region: str, account_id: str, partition: str) -> List[Instance]:
    ec2 = factory.client("ec2", region)
    out: List[Instance] = []
    pages = ec2.get_paginator("describe_instances").paginate(
        Filters=[{"Name": "instance-state-name", "Values": list(LIVE_STATES)}],
        PaginationConfig={"PageSize": PAGE_SIZE},
    )
    for page in pages:
        for reservation in page.get("Reservations", []):
            for item in reservation.get("Instances", []):
                state = item.get("State", {}).get("Name", "")
                if state not in LIVE_STATES:
                    continue
                out.append(Instance(
                    id=item["InstanceId"],
                    arn=f"arn:{partition}:ec2:{region}:{account_id}:instance/{item['InstanceId']}",
                    region=region,
                    state=state,
                    instance_profile_arn=(item.get("IamInstanceProfile") or {}).get("Arn"),
                    name=_name(item.get("Tags")),
                    launched=_aware(item.get("LaunchTime")),
                ))
    return out


def collect_ec2(factory: Any, regions: Iterable[str], account_id: str, partition: str, errors: ErrorLog) -> dict:
    """Every live instance of ``regions``; a region that cannot be read leaves an ``Unread`` record, not a gap."""
    regions = tuple(dict.fromkeys(regions))
    instances: List[Instance] = []
    for region in regions:
        try:
            instances.extend(_region_instances(factory, region, account_id, partition))
        except READ_ERRORS as exc:
            errors.unread(instances_source(region), "ec2", "DescribeInstances", exc)
    return {"instances": tuple(sorted(instances, key=lambda i: (i.region, i.id))), "instance_regions": regions}
