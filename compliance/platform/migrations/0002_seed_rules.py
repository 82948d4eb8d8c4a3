"""Seed the rule tables: states and their time zones, area codes, all-party-consent states,
calling rules (federal, Reg F, Florida, Oklahoma, Mississippi) and SMS keywords.

States, zones and area codes were generated from libphonenumber's geocoding and time-zone
data (phonenumbers 9.0.43) into compliance/platform/data/*.csv. Editing a row later in the
admin changes its `updated` stamp, which the ledger records as the rule data's version.
"""

import csv
import datetime as dt
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data"

ALL_PARTY = {
    "CA": "Cal. Penal Code § 632", "DE": "Del. Code tit. 11 § 2402 (sources disagree)",
    "FL": "Fla. Stat. § 934.03", "IL": "720 ILCS 5/14-2", "MD": "Md. Code, Cts. & Jud. Proc. § 10-402",
    "MA": "Mass. Gen. Laws ch. 272 § 99", "MT": "Mont. Code Ann. § 45-8-213", "NV": "Nev. Rev. Stat. § 200.620",
    "NH": "N.H. Rev. Stat. § 570-A:2", "PA": "18 Pa. C.S. § 5703", "WA": "Rev. Code Wash. § 9.73.030",
    # Mixed rules: treated as all-party (the stricter reading).
    "CT": "Conn. Gen. Stat. § 52-570d (mixed: treated as all-party)",
    "MI": "Mich. Comp. Laws § 750.539c (mixed: treated as all-party)",
    "OR": "Or. Rev. Stat. § 165.540 (mixed: treated as all-party)",
}

T, I, D = "telemarketing", "informational", "debt_collection"
RULES = [
    dict(jurisdiction="US", name="Calling hours", purposes=[T, I, D], window=("08:00", "21:00"),
         source="47 CFR 64.1200(c)(1); TSR 16 CFR 310.4(c); Reg F 12 CFR 1006.6(b)(1)(i). Applied to "
                "informational calls by platform policy.", effective_from="1992-12-20"),
    dict(jurisdiction="US", name="Reg F call frequency", purposes=[D], max_attempts=7, period_hours=168,
         quiet_hours_after_conversation=168, source="12 CFR 1006.14(b)(2) (presumption of harassment)",
         effective_from="2021-11-30"),
    dict(jurisdiction="FL", name="Telephonic sales calls", purposes=[T], window=("08:00", "20:00"),
         max_attempts=3, period_hours=24, source="Fla. Stat. § 501.616(6) (as amended by SB 1120, 2021)",
         effective_from="2021-07-01"),
    dict(jurisdiction="OK", name="Telephonic sales calls", purposes=[T], window=("08:00", "20:00"),
         max_attempts=3, period_hours=24, source="Okla. Stat. tit. 15 § 775C.4 (Telephone Solicitation Act of 2022)",
         effective_from="2022-11-01"),
    dict(jurisdiction="MS", name="Telephone solicitations", purposes=[T], window=("08:00", "21:00"), no_sundays=True,
         source="Miss. Code Ann. § 77-3-723(1) (no Sundays); § 77-3-603(a) (8:00–21:00). The PSC's holiday ban "
                "(39 Miss. Admin. Code Pt. I R. 1:28) was repealed in 2024.",
         effective_from="2003-07-01"),
]

KEYWORDS = (
    [(w, "opt_out", "first_word") for w in
     ("stop", "stopall", "stop all", "unsubscribe", "cancel", "end", "quit", "revoke", "opt out", "optout")]
    + [(w, "opt_out", "phrase") for w in
       ("stop texting", "stop messaging", "stop sending", "stop calling", "stop contacting", "do not text",
        "dont text", "do not call", "dont call", "do not contact", "dont contact", "remove me", "take me off",
        "leave me alone", "no more texts", "no more messages", "no more calls", "unsubscribe me", "please unsubscribe",
        "opt me out",
        "wrong number", "revoke consent", "i revoke")]
    + [(w, "opt_in", "exact") for w in ("start", "unstop", "yes")]
    + [(w, "help", "first_word") for w in ("help", "info")]
)


def seed(apps, schema_editor):
    UsState = apps.get_model("compliance_platform", "UsState")
    AreaCode = apps.get_model("compliance_platform", "AreaCode")
    CallingRule = apps.get_model("compliance_platform", "CallingRule")
    SmsKeyword = apps.get_model("compliance_platform", "SmsKeyword")
    with open(DATA / "states.csv", newline="") as f:
        for row in csv.DictReader(f):
            UsState.objects.create(
                code=row["code"], name=row["name"], time_zones=row["time_zones"].split(),
                all_party_recording_consent=row["code"] in ALL_PARTY, recording_source=ALL_PARTY.get(row["code"], ""),
            )
    with open(DATA / "area_code_states.csv", newline="") as f:
        AreaCode.objects.bulk_create(AreaCode(code=int(r["area_code"]), state_id=r["state"]) for r in csv.DictReader(f))
    for rule in RULES:
        rule = dict(rule)
        window = rule.pop("window", None)
        if window:
            rule["window_start"], rule["window_end"] = (dt.time.fromisoformat(t) for t in window)
        CallingRule.objects.create(**rule)
    SmsKeyword.objects.bulk_create(SmsKeyword(text=t, action=a, match=m) for t, a, m in KEYWORDS)


class Migration(migrations.Migration):
    dependencies = [("compliance_platform", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
