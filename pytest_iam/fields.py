"""The fields of every resource view, declared once: what a check's ``key`` and ``reason`` may name.

Usage::

    from pytest_iam.fields import resource_type
    users = resource_type("users")
    users.field("access_keys").sub("last_rotated").type        # -> "datetime"
    users.plural, users.empty_reason(inventory)                # -> "users", "the account has no IAM users"

The loader refuses a check whose key names a field not declared here; ``docs/checks.md`` lists every field; a test
builds the views of a realistic inventory and holds them to these declarations. A view may also carry the meta key
``unread`` (``{field: reason}`` for facts that could not be read): it is not a field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Tuple

# Field types. "object" and "list" fields declare their sub-fields (a list's sub-fields are those of its items);
# "document" is a JSON policy document (or other free-form data): paths into it are not checked.
SCALAR_TYPES = ("string", "integer", "boolean", "datetime")
TYPES = SCALAR_TYPES + ("object", "list", "string list", "document")

UNREAD = "unread"  # the meta key of a view whose facts could not all be read


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    description: str
    fields: Tuple["Field", ...] = ()

    def sub(self, name: str) -> Optional["Field"]:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def structured(self) -> bool:
        """An object, or a list of objects, whose sub-fields are declared."""
        return self.type in ("object", "list") and bool(self.fields)


@dataclass(frozen=True)
class ResourceType:
    name: str
    singular: str
    plural: str
    items: str  # what one item is: "one per IAM user"
    fields: Tuple[Field, ...]
    empty: Callable[[Any], str]

    def field(self, name: str) -> Optional[Field]:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def names(self) -> Tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def empty_reason(self, inventory: Any) -> str:
        """Why the account has no resource of this type, as a sentence fragment."""
        return self.empty(inventory)


def _f(name: str, type_: str, description: str, *fields: Field) -> Field:
    assert type_ in TYPES, type_
    return Field(name, type_, description, tuple(fields))


ARN = _f("arn", "string", "the ARN the finding names")

ACCESS_KEY_FIELDS = (
    _f("slot", "integer", "1 or 2: the key's column in the credential report"),
    _f("active", "boolean", "the key is active"),
    _f("last_rotated", "datetime", "when the key was created or last rotated"),
    _f("last_used", "datetime", "when the key was last used (not set: never, or before tracking began)"),
    _f("last_used_service", "string", "the service the key was last used with"),
    _f("last_used_region", "string", "the region the key was last used in"),
)
MFA_DEVICE_FIELDS = (
    _f("serial", "string", "the device's serial number or ARN"),
    _f("virtual", "boolean", "a virtual (software) device"),
    _f("enabled", "datetime", "when the device was enabled"),
)
ATTACHED_POLICY_FIELDS = (
    _f("arn", "string", "the managed policy's ARN"),
    _f("name", "string", "the managed policy's name"),
)
INLINE_POLICY_FIELDS = (
    _f("name", "string", "the inline policy's name"),
    _f("document", "document", "the policy document"),
)
PASSWORD_POLICY_FIELDS = (
    _f("minimum_password_length", "integer", "the shortest password accepted"),
    _f("require_symbols", "boolean", "a symbol is required"),
    _f("require_numbers", "boolean", "a number is required"),
    _f("require_uppercase_characters", "boolean", "an uppercase letter is required"),
    _f("require_lowercase_characters", "boolean", "a lowercase letter is required"),
    _f("allow_users_to_change_password", "boolean", "users may change their own password"),
    _f("expire_passwords", "boolean", "passwords expire"),
    _f("max_password_age", "integer", "days a password stays valid"),
    _f("password_reuse_prevention", "integer", "how many previous passwords cannot be reused"),
    _f("hard_expiry", "boolean", "an expired password needs an administrator to reset it"),
)
BUCKET_PAB_FIELDS = (
    _f("block_public_acls", "boolean", "BlockPublicAcls"),
    _f("ignore_public_acls", "boolean", "IgnorePublicAcls"),
    _f("block_public_policy", "boolean", "BlockPublicPolicy"),
    _f("restrict_public_buckets", "boolean", "RestrictPublicBuckets"),
)
ACCOUNT_PAB_FIELDS = (
    _f("BlockPublicAcls", "boolean", "new public ACLs are refused"),
    _f("IgnorePublicAcls", "boolean", "public ACLs are ignored"),
    _f("BlockPublicPolicy", "boolean", "new public bucket policies are refused"),
    _f("RestrictPublicBuckets", "boolean", "public bucket policies are restricted to the account and AWS services"),
)
GRANT_FIELDS = (
    _f("grantee_type", "string", "CanonicalUser, Group or AmazonCustomerByEmail"),
    _f("permission", "string", "READ, WRITE, READ_ACP, WRITE_ACP or FULL_CONTROL"),
    _f("grantee", "string", "the grantee's id, URI or email"),
)


def _access_keys(description: str) -> Field:
    return _f("access_keys", "list", description, *ACCESS_KEY_FIELDS)


def _mfa_devices(description: str) -> Field:
    return _f("mfa_devices", "list", description, *MFA_DEVICE_FIELDS)


def _policies_of(whom: str) -> Tuple[Field, Field]:
    return (
        _f("attached_policies", "list", f"managed policies attached to the {whom}", *ATTACHED_POLICY_FIELDS),
        _f("inline_policies", "list", f"the {whom}'s inline policies", *INLINE_POLICY_FIELDS),
    )


ROOT_FIELDS = (
    ARN,
    _f("label", "string", "\"root\""),
    _f("mfa_active", "boolean", "the root user has an MFA device"),
    _mfa_devices("the root user's MFA devices"),
    _f("virtual_mfa", "boolean", "one of the root user's MFA devices is virtual"),
    _f("hardware_mfa", "boolean", "the root user has MFA and none of its devices is virtual"),
    _access_keys("the root user's access key slots"),
    _f("active_access_keys", "integer", "how many of the root user's access keys are active"),
    _f("password_enabled", "boolean", "the root user has a password"),
    _f("password_last_used", "datetime", "when the root password was last used"),
    _f("source", "string", "where the facts come from: credential_report or account_summary"),
)

USER_FIELDS = (
    ARN,
    _f("label", "string", "user/NAME"),
    _f("name", "string", "the user's name"),
    _f("id", "string", "the user's unique id (AIDA...)"),
    _f("path", "string", "the user's path"),
    _f("created", "datetime", "when the user was created"),
    _f("password_enabled", "boolean", "the user has a console password"),
    _f("password_last_used", "datetime", "when the password was last used (not set: never)"),
    _f("password_last_changed", "datetime", "when the password was set or last changed"),
    _f("mfa_active", "boolean", "the user has an MFA device"),
    _mfa_devices("the user's MFA devices"),
    _access_keys("the user's access key slots"),
    _f("active_access_keys", "integer", "how many of the user's access keys are active"),
    _f("groups", "string list", "names of the groups the user is in"),
    *_policies_of("user"),
    _f("direct_policies", "string list", "names of the managed and inline policies attached to the user itself"),
    _f("permissions_boundary", "string", "the ARN of the user's permissions boundary"),
    _f("in_credential_report", "boolean", "the user has a row in the credential report"),
    _f("tags", "object", "the user's tags, a mapping key -> value (values with anything shaped like a secret masked)"),
)

ACCESS_KEY_VIEW_FIELDS = (
    _f("arn", "string", "the ARN of the user who owns the key"),
    _f("label", "string", "user/NAME key SLOT"),
    _f("user", "string", "the owning user's name"),
    *ACCESS_KEY_FIELDS,
)

GROUP_FIELDS = (
    ARN,
    _f("label", "string", "group/NAME"),
    _f("name", "string", "the group's name"),
    _f("id", "string", "the group's unique id"),
    _f("path", "string", "the group's path"),
    *_policies_of("group"),
)

ROLE_FIELDS = (
    ARN,
    _f("label", "string", "role/NAME"),
    _f("name", "string", "the role's name"),
    _f("id", "string", "the role's unique id"),
    _f("path", "string", "the role's path"),
    _f("created", "datetime", "when the role was created"),
    _f("trust_policy", "document", "the role's trust policy"),
    *_policies_of("role"),
    _f("permissions_boundary", "string", "the ARN of the role's permissions boundary"),
    _f("last_used", "datetime", "when the role was last used"),
    _f("service_linked", "boolean", "a service-linked role (path /aws-service-role/)"),
    _f("tags", "object", "the role's tags, a mapping key -> value (values with anything shaped like a secret masked)"),
)

POLICY_FIELDS = (
    _f("arn", "string", "the managed policy's ARN, or for an inline policy its owner's ARN"),
    _f("label", "string", "policy/NAME, or KIND/OWNER inline NAME"),
    _f("name", "string", "the policy's name"),
    _f("kind", "string", "managed or inline"),
    _f("owner", "string", "an inline policy's owner ARN (not set for a managed policy)"),
    _f("document", "document", "the policy document (default version)"),
    _f("attachment_count", "integer", "how many entities the policy is attached to (1 for an inline policy)"),
    _f("aws_managed", "boolean", "an AWS-managed policy (in the view only when attached to a user, group or role)"),
    _f("attached_to", "string list", "ARNs of the users, groups and roles the policy is attached to (an inline "
                                     "policy: its owner)"),
)

# --- account settings, principals, server certificates (CIS 1.2, 1.16, 1.18, 1.19, 1.21; privilege escalation) ---

ANALYZER_FIELDS = (
    _f("name", "string", "the analyzer's name"),
    _f("arn", "string", "the analyzer's ARN"),
    _f("region", "string", "the region the analyzer was listed in"),
    _f("type", "string", "ACCOUNT, ORGANIZATION, ACCOUNT_UNUSED_ACCESS, ORGANIZATION_UNUSED_ACCESS, ..."),
    _f("status", "string", "ACTIVE, CREATING, DISABLED or FAILED"),
)
MANAGED_ATTACHMENT_FIELDS = (
    _f("arn", "string", "the managed policy's ARN"),
    _f("name", "string", "the managed policy's name"),
    _f("aws_managed", "boolean", "an AWS-managed policy"),
    _f("attached_to", "string list", "ARNs of the users, groups and roles it is attached to"),
)
ACCOUNT_SETTINGS_FIELDS = (
    _f("security_contact_registered", "boolean", "a SECURITY alternate contact is registered for the account"),
    _f("access_analyzers", "list", "the IAM Access Analyzer analyzers of every region in access_analyzer_regions",
       *ANALYZER_FIELDS),
    _f("access_analyzer_regions", "string list", "the regions whose analyzers were listed (the account's regions)"),
    _f("managed_policy_attachments", "list", "every managed policy attached to a user, group or role",
       *MANAGED_ATTACHMENT_FIELDS),
)
PRINCIPAL_FIELDS = (
    ARN,
    _f("label", "string", "user/NAME or role/NAME"),
    _f("name", "string", "the user's or role's name"),
    _f("kind", "string", "user or role"),
)
SERVER_CERTIFICATE_FIELDS = (
    ARN,
    _f("label", "string", "server-certificate/NAME"),
    _f("name", "string", "the certificate's name"),
    _f("expiration", "datetime", "when the certificate expires"),
    _f("uploaded", "datetime", "when the certificate was uploaded to IAM"),
)

BUCKET_FIELDS = (
    ARN,
    _f("label", "string", "bucket/NAME"),
    _f("name", "string", "the bucket's name"),
    _f("region", "string", "the bucket's region"),
    _f("created", "datetime", "when the bucket was created"),
    _f("policy", "document", "the bucket policy (not set: the bucket has none)"),
    _f("public_access_block", "object", "the bucket's Block Public Access settings (not set: none configured)",
       *BUCKET_PAB_FIELDS),
    _f("acl_grants", "list", "the bucket ACL's grants", *GRANT_FIELDS),
    # S3 checks of CIS 2.1.1, 2.1.2, 2.1.4 and public ACLs: settings in effect, versioning, public grants
    _f("effective_public_access_block", "object",
       "the Block Public Access settings in effect: each is on when the bucket's or the account's is", *BUCKET_PAB_FIELDS),
    _f("public_acl_grants", "list",
       "ACL grants to AllUsers or AuthenticatedUsers that S3 honours (none while IgnorePublicAcls is in effect)",
       *GRANT_FIELDS),
    _f("versioning", "string", "Enabled, Suspended or Off (versioning never enabled)"),
    _f("mfa_delete", "boolean", "MFA delete is enabled"),
)

INSTANCE_FIELDS = (
    ARN,
    _f("label", "string", "instance/ID (NAME) in REGION"),
    _f("id", "string", "the instance id"),
    _f("name", "string", "the instance's Name tag"),
    _f("region", "string", "the region the instance runs in"),
    _f("state", "string", "pending, running, stopping or stopped"),
    _f("instance_profile_arn", "string", "the ARN of the associated IAM instance profile (not set: none)"),
    _f("launched", "datetime", "when the instance was last launched"),
)


def _no_instances(inventory: Any) -> str:
    regions = ", ".join(getattr(inventory, "instance_regions", ()) or ()) or "the account's regions"
    return f"the account has no pending, running, stopping or stopped EC2 instance in {regions}"

ACCOUNT_FIELDS = (
    ARN,
    _f("label", "string", "account ACCOUNT_ID"),
    _f("account_id", "string", "the account's id"),
    _f("alias", "string", "the account alias"),
    _f("password_policy", "object", "the IAM password policy (not set: the account has none)", *PASSWORD_POLICY_FIELDS),
    _f("password_policy_collected", "boolean", "the password policy could be read (when not, the view's unread record says why)"),
    _f("s3_public_access_block", "object", "the account-level S3 Block Public Access settings", *ACCOUNT_PAB_FIELDS),
    _f("organization_status", "string", "member, not_in_organization or unavailable"),
    *ACCOUNT_SETTINGS_FIELDS,
)

ORG_ACCOUNT_FIELDS = (
    _f("arn", "string", "the member account's ARN in the organization"),
    _f("label", "string", "account NAME (ID)"),
    _f("id", "string", "the member account's id"),
    _f("name", "string", "the member account's name"),
    _f("status", "string", "ACTIVE, SUSPENDED, ..."),
)


def _none(what: str) -> Callable[[Any], str]:
    return lambda inventory: f"the account has no {what}"


def _no_member_accounts(inventory: Any) -> str:
    status = getattr(getattr(inventory, "organization", None), "status", None)
    if status == "not_in_organization":
        return "the account is not in an organization"
    return "the organization has no member account besides the management account"


RESOURCE_TYPES: Dict[str, ResourceType] = {
    t.name: t
    for t in (
        ResourceType("root", "root user", "root users", "one item, the account's root user", ROOT_FIELDS,
                     lambda inventory: "the root user's facts are missing"),
        ResourceType("account", "account", "accounts", "one item, the account", ACCOUNT_FIELDS,
                     lambda inventory: "the account itself is missing"),
        ResourceType("users", "user", "users", "one per IAM user", USER_FIELDS, _none("IAM users")),
        ResourceType("access_keys", "access key", "access keys", "one per access key of a user", ACCESS_KEY_VIEW_FIELDS,
                     lambda inventory: "no IAM user has an access key"),
        ResourceType("groups", "group", "groups", "one per IAM group", GROUP_FIELDS, _none("IAM groups")),
        ResourceType("roles", "role", "roles", "one per IAM role", ROLE_FIELDS, _none("IAM roles")),
        ResourceType("policies", "policy", "policies",
                     "one per customer-managed policy, per attached AWS-managed policy and per inline policy",
                     POLICY_FIELDS, _none("customer-managed, attached AWS-managed or inline policies")),
        ResourceType("principals", "principal", "principals", "one per IAM user and per role that is not service-linked",
                     PRINCIPAL_FIELDS, _none("IAM users or roles (besides service-linked roles)")),
        ResourceType("server_certificates", "server certificate", "server certificates",
                     "one per SSL/TLS server certificate stored in IAM", SERVER_CERTIFICATE_FIELDS,
                     _none("server certificates in IAM")),
        ResourceType("buckets", "bucket", "buckets", "one per S3 bucket", BUCKET_FIELDS, _none("S3 buckets")),
        ResourceType("instances", "instance", "instances",
                     "one per EC2 instance that is not terminated, in each of the account's regions", INSTANCE_FIELDS,
                     _no_instances),
        ResourceType("org_accounts", "member account", "member accounts",
                     "one per member account of the organization (not the management account)", ORG_ACCOUNT_FIELDS,
                     _no_member_accounts),
    )
}

def resource_type(name: str) -> ResourceType:
    return RESOURCE_TYPES[name]


def field_paths(rtype: ResourceType) -> Tuple[Tuple[str, Field], ...]:
    """Every declared path of a resource type, as a key writes it: ``password_policy.minimum_password_length``,
    ``access_keys[].last_rotated``."""
    out = []

    def walk(prefix: str, fields: Tuple[Field, ...]) -> None:
        for f in fields:
            path = f"{prefix}{f.name}"
            out.append((path, f))
            if f.fields:
                walk(path + ("[]." if f.type == "list" else "."), f.fields)

    walk("", rtype.fields)
    return tuple(out)

