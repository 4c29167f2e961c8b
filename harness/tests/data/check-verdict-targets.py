#!/usr/bin/python3
"""Checks a run's results.json against the verdict targets of the default matrix, reading nothing
but the file: no harness_error, no "no side rejected" verdict that a fatal alert on the wire
contradicts, and `unmapped` on at most 1 % of the sides that rejected (recounted from the cases,
not taken from the run's own totals). Usage: check-verdict-targets.py RESULTS.json"""
import json
import sys


def main(path):
    with open(path) as f:
        results = json.load(f)
    problems = []
    rejecting = unmapped = 0
    for case in results["cases"]:
        verdict = case["verdict"]
        if verdict["grade"] == "harness_error":
            problems.append(f"{case['id']}: harness_error: {verdict['detail'][:200]}")
        if "no side reported a rejection" in verdict.get("detail", "") and verdict.get("alert"):
            problems.append(f"{case['id']}: 'no side rejected' but the wire shows a fatal "
                            f"{verdict['alert']} from the {verdict.get('alert_from')}")
        for side in ("client", "server"):
            o = case.get("observation", {}).get(side, {})
            if o.get("outcome") == "rejected":
                rejecting += 1
                if o.get("reason") == "unmapped":
                    unmapped += 1
                    print(f"{case['id']}: {side} ({o.get('peer')}) rejected, reason unmapped")
    print(f"{len(results['cases'])} cases, {rejecting} rejecting sides, {unmapped} unmapped")
    if rejecting and unmapped * 100 > rejecting:
        problems.append(f"unmapped on {unmapped} of {rejecting} rejecting sides: more than 1 %")
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
