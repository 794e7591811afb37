"""Questions our auditors ask, answered the way AWS would decide them (pytest-iam's policy engine).

Each test runs once per --iam-account. These pass on the demo account; on a real account they state our policy.
"""


def test_no_key_is_older_than_a_year(iam):
    # ACME-IAM-04 tracks the 60-day target; a key older than a year is an incident. On failure pytest shows the table
    # of offending keys with the reason for each.
    assert iam.check("iam-access-key-rotation", max_age_days=365)


def test_service_users_have_no_console_password(iam):
    service_users = [user for user in iam.users if user.name.startswith("svc-")]
    assert service_users
    assert not [user.name for user in service_users if user.password_enabled]


def test_developers_cannot_touch_iam(iam, arn):
    # DeveloperAccess carries an explicit Deny on iam:*: an explicit deny beats every allow (AWS policy evaluation logic).
    decision = iam.can(arn("user/dev-01"), "iam:CreateUser", "*")
    assert decision.decision == "explicit_deny"


def test_only_alice_can_assume_break_glass(iam, arn):
    # A role trust policy must name the principal even in the same account: bob's admin rights do not help him.
    break_glass = arn("role/BreakGlass")
    assert iam.can(arn("user/alice"), "sts:AssumeRole", break_glass)
    assert not iam.can(arn("user/bob"), "sts:AssumeRole", break_glass)


def test_the_website_is_readable_by_anyone_and_nothing_else_is(iam):
    public = {b.name for b in iam.buckets if iam.can("anonymous", "s3:GetObject", f"{b.arn}/index.html")}
    # the archive's policy is public too, but RestrictPublicBuckets on the bucket keeps anonymous callers out
    # (S3 "Blocking public access": only AWS service principals and the owner account's users may use it)
    assert public == {"demo-corp-website"}
    assert not iam.can("anonymous", "s3:GetObject", "arn:aws:s3:::demo-corp-archive/index.html")


def test_administrators_are_the_ones_we_know(iam, arn):
    known = {arn("user/alice"), arn("user/bob"), arn("user/bianca"), arn("role/BreakGlass")}
    found = {admin.principal: admin for admin in iam.admins()}
    unexpected = set(found) - known - {arn("user/heidi")}
    assert not unexpected, [str(found[p]) for p in unexpected]
    # heidi can attach any policy to herself: an escalation path, reported with the statement that allows it
    assert found[arn("user/heidi")].how == "escalation"


def test_boundary_keeps_sandbox_role_below_admin(iam, arn):
    # FullAdmin is attached, but the permissions boundary allows only four services (AWS: the effective permissions are
    # the intersection of identity policies and the boundary).
    assert iam.can(arn("role/SandboxDeveloper"), "lambda:CreateFunction", "*")
    assert not iam.can(arn("role/SandboxDeveloper"), "ec2:RunInstances", "*")
