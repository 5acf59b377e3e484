#!/usr/bin/env bash
# The whole story on this machine, into one SQLite store (make run calls this):
# measure -> diagnose -> plan -> convince. Each step is a plain fleetwise command; run any of
# them again by hand, add --json to see the numbers behind a table.
set -euo pipefail
FW="${FW:-.venv/bin/fleetwise}"
DB="${FLEETWISE_DB:-fleetwise.db}"
OUT="${OUT:-reports}"
SUITE="${SUITE:-quick}"
EX="examples/data"
export FLEETWISE_DB="$DB"
# Every GPU-hour and dollar of the story speaks for one fleet: the example profile, sized
# to the cluster imported below, copied to ./fleet.yaml where every later fleetwise command
# (report, serve...) run from this folder finds it. An existing ./fleet.yaml or
# $FLEETWISE_FLEET is left as it is.
if [[ -z "${FLEETWISE_FLEET:-}" && ! -e fleet.yaml ]]; then
  cp examples/fleet.yaml fleet.yaml
  echo "wrote ./fleet.yaml (the story's example fleet: 64 GPUs; fleetwise fleet show)"
fi
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1/6 measure: the $SUITE suite on this machine"
"$FW" bench run "$SUITE" --tag story

step "2/6 diagnose: a profiler trace, a cluster job log, delivery and on-call exports"
"$FW" diagnose --trace "$EX/traces/nccl_ddp_a100" --tag story
# The Alibaba trace gives seconds from an undated start: --epoch places that start.
"$FW" cluster import "$EX/cluster/alibaba_pods_head800.csv" --epoch 2026-06-01
"$FW" cluster analyze
"$FW" process import "$EX/process/fourkeys_sample"
"$FW" process import "$EX/process/pipeline_runs.csv"
"$FW" process import "$EX/process/pagerduty_incidents.json"
"$FW" process import "$EX/process/infra_changes.yaml"   # driver, NCCL, scheduler... rollouts
"$FW" process dora
"$FW" process pipeline
"$FW" process oncall
# The value stream the team mapped by hand (wait, active time and %C&A per step); stored,
# so the KPIs below can bind to its steps and the briefing shows its ladder.
"$FW" process map --from-yaml examples/process-map.yaml
"$FW" process infra            # platform changes as deployments: failures and recovery
# The people behind the numbers: a two-wave developer-experience survey of the 52 engineers
# (a Google Forms export, then a Microsoft Forms one) and five interview and shadowing notes
# whose themes back the findings above. Importing a wave or a note again replaces it.
PEOPLE="examples/people"
"$FW" survey import "$PEOPLE/dx-survey-2026-10-google-forms.csv" --wave 2026-10 \
  --map "$PEOPLE/questions.yaml" --team-size 52
"$FW" survey import "$PEOPLE/dx-survey-2026-11-microsoft-forms.csv" --wave 2026-11 \
  --map "$PEOPLE/questions.yaml" --team-size 52
"$FW" survey report
"$FW" notes add "$PEOPLE"/notes/*.md
"$FW" notes themes

step "3/6 plan: actions from every finding, ranked; KPIs bound to the data"
RUN=$("$FW" bench list --limit 1 --json | "${FW%/fleetwise}/python" -c \
  'import json, sys; print(json.load(sys.stdin)["runs"][0]["id"])')
"$FW" fleet show
"$FW" plan seed --run "$RUN"   # benchmark findings of this run, then every current finding
# Who must agree: the stakeholder register with RACI for the seeded actions (named by their
# catalog keys), then three meetings whose decisions approve actions (logged once however
# often this runs) and whose objections and stance changes form the alignment log; the
# approved work's rollout and the RACI make the communication plan.
"$FW" stakeholder import examples/people/stakeholders.yaml
for meeting in examples/people/meetings/*; do "$FW" meeting add "$meeting"; done
"$FW" alignment
"$FW" ledger                   # where the fleet's GPU-hours go, and what the findings claim
"$FW" plan rank --by npv
if ! "$FW" kpi list --json | grep -q '"lead-time"'; then
  "$FW" kpi add examples/story-kpis.yaml
fi
if ! "$FW" kpi list --json | grep -q '"dx-feedback-loops"'; then
  "$FW" kpi add examples/people/kpis.yaml   # a survey construct as a KPI
fi
# Step KPIs of the process map and the mapping workshop's actions that should move them:
# the future state of the map (process map --future, the briefing) counts their effects.
if ! "$FW" kpi list --json | grep -q '"review-wait"'; then
  "$FW" kpi add examples/process-kpis.yaml
  "$FW" plan import examples/process-actions.yaml
fi
"$FW" kpi list
"$FW" process map --from-yaml examples/process-map.yaml --future
"$FW" kpi watch   # done actions' gains after closure (none is done yet in this story)

step "4/6 capacity and investment"
"$FW" capacity forecast --horizon 30
"$FW" invest compare examples/invest-scenario.yaml   # the fleet profile's scenario of record

step "5/6 convince: the briefing as HTML, PDF and PPTX"
mkdir -p "$OUT"
for fmt in html pdf pptx; do
  "$FW" report briefing --format "$fmt" -o "$OUT/briefing.$fmt"
done
"$FW" comms plan -o "$OUT/comms-plan.md"             # who hears what, when, from whom
"$FW" comms plan --format ics -o "$OUT/comms-plan.ics"   # the same, for a calendar

step "6/6 done"
echo "store:     $DB"
for fmt in html pdf pptx; do echo "briefing:  $OUT/briefing.$fmt"; done
echo "dashboard: $FW serve   (then open http://127.0.0.1:8050/)"
