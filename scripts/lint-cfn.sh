#!/usr/bin/env bash
# Lints what a user deploys with the field's CloudFormation linters (README, "Linting the stack"):
#   - the stack as `npm run package` builds it, twice: the defaults in us-east-1, and every optional
#     parameter set (scripts/package/optional-parameters.cjs) in eu-west-1;
#   - templates/*.yml (the member role's StackSet template, and the delegated administrator's
#     delegation, forwarding and bus policy templates);
# with cfn-lint plus the cfn-lint-serverless rules (for both Regions) and checkov's CloudFormation
# checks. Exits 0 only when neither reports anything: every finding is fixed in the template or
# suppressed there, with its reason beside it.
#
# The linters live in .venv-cfn/ (git-ignored), created on the first run from the pinned
# scripts/lint-cfn.requirements.txt and reused until that file or the Python version changes.
# Needs python3 with venv and pip, and the Python package index on the first run; the linting
# itself runs offline.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv-cfn
requirements=scripts/lint-cfn.requirements.txt
regions=(us-east-1 eu-west-1)

if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  echo "lint-cfn: needs python3 with the venv and ensurepip modules (Debian: apt-get install python3-venv)" >&2
  exit 3
fi

stamp="$(python3 --version 2>&1) $(sha256sum "$requirements" | cut -d' ' -f1)"
if [ "$(cat "$venv/.stamp" 2>/dev/null)" != "$stamp" ]; then
  echo "lint-cfn: installing the linters into $venv (once per $requirements)"
  rm -rf "$venv"
  python3 -m venv "$venv"
  # Every dependency is listed and pinned: --no-deps keeps pip from resolving anything else.
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "$requirements"
  echo "$stamp" >"$venv/.stamp"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Both packagings at once: each runs from its own copy of the tree.
mapfile -t optional < <(node scripts/package/optional-parameters.cjs)
node scripts/package/package-copy.cjs --out "$work/defaults-us-east-1" --region us-east-1 &
defaults=$!
node scripts/package/package-copy.cjs --out "$work/optional-eu-west-1" --region eu-west-1 "${optional[@]}" &
all=$!
wait "$defaults"
wait "$all"
templates=()
for name in defaults-us-east-1 optional-eu-west-1; do
  cp "$work/$name/cloudformation-template-update-stack.json" "$work/stack-$name.json"
  templates+=("$work/stack-$name.json")
done
templates+=(templates/*.yml)

status=0
echo "cfn-lint $("$venv/bin/cfn-lint" --version | cut -d' ' -f2) + cfn-lint-serverless, Regions ${regions[*]}:"
echo "  ${templates[*]##*/}"
"$venv/bin/cfn-lint" --regions "${regions[@]}" --append-rules cfn_lint_serverless.rules -- "${templates[@]}" ||
  status=1
echo "checkov $("$venv/bin/checkov" --version), CloudFormation checks:"
checkov_files=()
for t in "${templates[@]}"; do checkov_files+=(-f "$t"); done
"$venv/bin/checkov" --framework cloudformation --quiet --compact --skip-download "${checkov_files[@]}" ||
  status=1
[ "$status" -eq 0 ] && echo "lint-cfn: no findings"
exit "$status"
