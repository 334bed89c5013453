#!/usr/bin/env bash
# Refresh the agent client's translations.
#
#   bash scripts/i18n.sh
#
# 1. pyside6-lupdate scans agent_client/**/*.py for self.tr(...) and
#    QCoreApplication.translate("Context", ...) calls (literal context and text
#    only; it does not follow wrapper functions) and merges them into
#    agent_client/i18n/custos_pl.ts. New strings arrive as type="unfinished";
#    strings no longer in the code are dropped (-no-obsolete).
# 2. Translate the unfinished entries in the .ts (any text editor, or
#    pyside6-linguist when the full PySide6 is installed). Keep {placeholders},
#    %1 and shortcut keys exactly as in the source text.
# 3. pyside6-lrelease compiles the .ts to agent_client/i18n/custos_pl.qm, which
#    is committed and shipped as package data; the client loads it with
#    `custos-agent --lang pl` (or by default on a Polish system locale).
#
# Run it again after step 2 to compile. tests/agent_client/test_i18n.py fails
# while the .qm is stale or a string is untranslated.
# Uses the tools of .venv (PySide6-Essentials); override with LUPDATE/LRELEASE.
set -eu
cd "$(dirname "$0")/.."
LUPDATE=${LUPDATE:-.venv/bin/pyside6-lupdate}
LRELEASE=${LRELEASE:-.venv/bin/pyside6-lrelease}
languages=(pl)

mapfile -t sources < <(find agent_client -name '*.py' -not -path '*/__pycache__/*' | LC_ALL=C sort)
for lang in "${languages[@]}"; do
  ts="agent_client/i18n/custos_${lang}.ts"
  "$LUPDATE" -silent -no-obsolete -locations none "${sources[@]}" -ts "$ts"
  "$LRELEASE" -silent "$ts" -qm "agent_client/i18n/custos_${lang}.qm"
  unfinished=$(grep -c 'type="unfinished"' "$ts" || true)
  if [ "$unfinished" -gt 0 ]; then
    echo "$ts: $unfinished string(s) still to translate" >&2
  fi
done
