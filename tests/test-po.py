#!/usr/bin/python3
"""The translations: po/zh_TW.po is complete, well-formed and used.

- every string marked _() or N_() in the sources listed in po/POTFILES has a
  zh_TW translation that is neither empty nor fuzzy (xgettext + msgcmp);
- every source file that marks strings is listed in po/POTFILES;
- no file still uses the old FK_T pair macro;
- printf conversions agree between English and Chinese (msgfmt --check);
- no stale entries: every msgid of zh_TW.po still occurs in the sources;
- the programs really speak both: fieldkit-cli in zh_TW and in English.
TAP output.
"""
import os
import re
import subprocess
import sys
import tempfile

SRC = os.path.normpath(os.path.join(os.environ.get('G_TEST_SRCDIR', os.path.dirname(__file__)), '..'))
PO = os.path.join(SRC, 'po', 'zh_TW.po')
CLI = os.environ.get('FIELDKIT_CLI')

results = []


def check(name, ok, detail=''):
    results.append((name, ok, detail))


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def po_msgids(path):
    """msgids of a po/pot file (non-obsolete), via msgattrib to stay exact."""
    out = run(['msgattrib', '--no-obsolete', '--no-wrap', path]).stdout
    ids = set()
    cur = None
    for line in out.split('\n'):
        if line.startswith('msgid '):
            cur = [line[7:-1]]
        elif line.startswith('"') and cur is not None:
            cur.append(line[1:-1])
        else:
            if cur is not None and line.startswith('msgstr'):
                ids.add(''.join(cur))
            cur = None
    ids.discard('')
    return ids


with open(os.path.join(SRC, 'po', 'POTFILES')) as f:
    potfiles = [l.strip() for l in f if l.strip() and not l.startswith('#')]

with tempfile.TemporaryDirectory() as tmp:
    pot = os.path.join(tmp, 'fieldkit.pot')
    r = run(['xgettext', '--from-code=UTF-8', '--keyword=_', '--keyword=N_', '--language=C',
             '-o', pot, '-D', SRC] + potfiles)
    check('xgettext reads every file in po/POTFILES', r.returncode == 0, r.stderr.strip())

    r = run(['msgcmp', PO, pot])
    missing = [l for l in r.stderr.split('\n') if 'this message' in l]
    check('every marked string has a zh_TW translation (msgcmp)', r.returncode == 0,
          '\n'.join(r.stderr.split('\n')[:20]) + ('\n%d missing' % len(missing)))

    r = run(['msgfmt', '--check', '--statistics', '-o', os.path.join(tmp, 'x.mo'), PO])
    stats = r.stderr.strip()
    check('msgfmt --check: formats agree, no fuzzy or untranslated entries',
          r.returncode == 0 and 'untranslated' not in stats and 'fuzzy' not in stats, stats)

    if os.path.exists(pot):
        stale = sorted(po_msgids(PO) - po_msgids(pot))
        check('no stale entries in zh_TW.po', not stale, '\n'.join(stale[:20]))

# Every C file that marks strings is in POTFILES; FK_T is gone.
unlisted = []
leftover = []
for top in ('crypto', 'app', 'sync', 'cli', 'ui'):
    for name in sorted(os.listdir(os.path.join(SRC, top))):
        if not name.endswith(('.c', '.h')):
            continue
        rel = top + '/' + name
        text = open(os.path.join(SRC, rel), encoding='utf-8').read()
        if rel != 'crypto/fk-i18n.h' and re.search(r'\b_\(\s*"', text) and rel not in potfiles:
            unlisted.append(rel)
        if re.search(r'\bFK_T\s*\(', text):
            leftover.append(rel)
check('every file with translatable strings is in po/POTFILES', not unlisted, ' '.join(unlisted))
check('no FK_T pair macro left', not leftover, ' '.join(leftover))

# The catalog is found and used at run time, from the build tree.
if CLI:
    env = dict(os.environ)
    env.pop('LC_ALL', None)
    env.pop('LANGUAGE', None)
    env['LANG'] = 'zh_TW.UTF-8'
    r = run([CLI, 'help'], env=env)
    check('fieldkit-cli help in zh_TW when LANG=zh_TW', '密碼' in r.stdout and 'The passphrase comes' not in r.stdout,
          r.stdout[:200])
    env['LANG'] = 'en_US.UTF-8'
    r = run([CLI, 'help'], env=env)
    check('fieldkit-cli help in English when LANG=en_US', 'The passphrase comes' in r.stdout and '密碼' not in r.stdout,
          r.stdout[:200])
    env['LANG'] = 'C'
    r = run([CLI, '--lang', 'zh_TW', 'no-such-command'], env=env)
    check('--lang zh_TW in the C locale still finds the catalog', '不明的指令' in r.stderr, r.stderr[:200])

print('1..%d' % len(results))
failed = 0
for i, (name, ok, detail) in enumerate(results, 1):
    print('%s %d - %s' % ('ok' if ok else 'not ok', i, name))
    if not ok:
        failed += 1
        for line in detail.split('\n'):
            print('# ' + line)
sys.exit(1 if failed else 0)
