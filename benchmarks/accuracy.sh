#!/usr/bin/env bash
# Accuracy benchmarks behind the README's tables. Needs a GuardZoo build in ./guardzoo and the
# OOD-protocol models in runs/ood (routeguard train --config configs/ood.yaml).
#   bash benchmarks/accuracy.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RG=${RG:-.venv/bin/routeguard}
PEERS="--guard securevector --guard profanity --guard prompt-guardrail"

# 1. Shipped models vs the offline peers on the GuardZoo test split (in-domain).
$RG eval --data guardzoo --split test --limit 4000 --guard routeguard --guard monolith $PEERS \
  --share-encoder --embedding-cache guardzoo/.cache --no-predictions --out benchmarks/results/guardzoo_test

# 2. Task interference, out of domain: RouteGuard vs the monolith trained on exactly the same data
#    without the held-out sources and categories, judged on those held-out records.
$RG eval --data guardzoo --split ood --limit 3000 \
  --guard "routeguard-ood=routeguard:runs/ood/routeguard" --guard "monolith-ood=routeguard:runs/ood/monolith" $PEERS \
  --share-encoder --embedding-cache guardzoo/.cache --no-predictions --out benchmarks/results/guardzoo_ood

# 3. The same OOD-protocol pair in-domain (test split without held-out records is inside `test`).
$RG eval --data guardzoo --split test \
  --guard "routeguard-ood=routeguard:runs/ood/routeguard" --guard "monolith-ood=routeguard:runs/ood/monolith" \
  --share-encoder --embedding-cache guardzoo/.cache --no-predictions --out benchmarks/results/interference_test
