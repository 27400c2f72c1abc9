#!/usr/bin/python3
"""Run the shell examples of the documentation as tests.

    docs_examples.py list ROOT          the Markdown files (README.md and
                                        docs/**/*.md) with marked sh blocks
    docs_examples.py run FILE [ROOT]    run FILE's marked blocks, in order,
                                        in the current directory
    docs_examples.py lint FILE...       check the markers without running
    docs_examples.py messages FILE ROOT every message quoted in FILE's tables
                                        marked <!-- messages --> (first
                                        column, in backquotes; "…" stands
                                        for a variable part) is in the C
                                        sources of ROOT/cmd and ROOT/lib
    docs_examples.py exits FILE ROOT    every exit status that a man page
                                        ROOT/man/vs-*.1 gives (other than
                                        "not used") is a row "| N |" of the
                                        section "### vs-NAME" of FILE

The convention (HTML comments, invisible when the Markdown is rendered):

    <!-- test -->              the next ```sh block runs and must exit 0
    <!-- test exit=N -->       the next ```sh block runs and must exit N (it
                               runs in a subshell: its cd and variables do
                               not last)
    <!-- output -->            the next fenced block (any language) is the
                               exact standard output of the tested block
                               just before it; a line "..." stands for any
                               number of lines
    <!-- test-requires: R... -->  the file's blocks need R: "data" (the
                               collections in $VS_DATA), "model:NAME" (a
                               model folder fetched into $VS_FETCHED_MODELS),
                               "cmd:NAME" (a program on PATH or in /usr/sbin);
                               a missing one skips the file, naming it
    <!-- test-setup: SHELL -->  hidden shell run before the first block (to
                               copy the files a page's examples read)

Blocks of one file run in one bash (so cd, variables and background jobs
carry over), with -e and -o pipefail, in its own process group, which is
killed at the end (servers a page starts in the background end there).
Environment: VECSTORE is the repository root, the pages' way to name the
files it ships; PATH already has the programs (tests/run.sh sets it).

DOCS_EXAMPLES_TIMES=1 makes run print each block's CPU seconds.

Exit status of run: 0 every block passed, 1 a block failed (the message
names FILE:LINE of its ``` line), 77 skipped (the reason on stdout),
2 usage.
"""
import glob
import os
import re
import signal
import subprocess
import sys
import tempfile

MARK = re.compile(r'^<!--\s*test(?:\s+exit=(\d+))?\s*-->\s*$')
OUTPUT = re.compile(r'^<!--\s*output\s*-->\s*$')
REQUIRES = re.compile(r'^<!--\s*test-requires:\s*(.*?)\s*-->\s*$')
SETUP = re.compile(r'^<!--\s*test-setup:\s*(.*?)\s*-->\s*$')
FENCE = re.compile(r'^(```+|~~~+)\s*([A-Za-z0-9_+-]*)')
BLOCK_TIMEOUT = 300   # seconds for one file's blocks, all together


class Block:
    def __init__(self, line, lang, text):
        self.line, self.lang, self.text = line, lang, text
        self.exit = None        # expected status when marked
        self.output = None      # expected stdout lines


def parse(path):
    """Return (blocks that are marked sh, requirements, setup lines, problems)."""
    with open(path, encoding='utf-8') as f:
        lines = f.read().split('\n')
    blocks, requires, setup, problems = [], [], [], []
    pending = None          # ('test', exit) or ('output',) waiting for a fence
    last_tested = None
    i = 0
    while i < len(lines):
        ln = lines[i]
        m = MARK.match(ln)
        if m:
            pending = ('test', int(m.group(1) or 0), i + 1)
            i += 1
            continue
        if OUTPUT.match(ln):
            pending = ('output', None, i + 1)
            i += 1
            continue
        m = REQUIRES.match(ln)
        if m:
            requires += m.group(1).split()
            i += 1
            continue
        m = SETUP.match(ln)
        if m:
            setup.append(m.group(1))
            i += 1
            continue
        m = FENCE.match(ln)
        if m:
            fence, lang = m.group(1), m.group(2)
            start = i + 1
            j = i + 1
            while j < len(lines) and not lines[j].startswith(fence):
                j += 1
            if j == len(lines):
                problems.append('%s:%d: the fenced block is not closed' % (path, start))
            body = lines[i + 1:j]
            if pending and pending[0] == 'test':
                if lang == 'sh':
                    b = Block(start, lang, '\n'.join(body))
                    b.exit = pending[1]
                    blocks.append(b)
                    last_tested = b
                # a marked python block belongs to another runner
                # (docs/migrate-python.md: tests/python/examples/test_docs.py);
                # any other language would never run
                else:
                    if lang != 'python':
                        problems.append('%s:%d: a marked block must be ```sh (or ```python for '
                                        'test_docs.py), not %r' % (path, start, lang))
                    last_tested = None
            elif pending and pending[0] == 'output':
                if last_tested is None:
                    problems.append('%s:%d: an output block follows no tested sh block' % (path, start))
                elif last_tested.output is not None:
                    problems.append('%s:%d: a second output block for the block at line %d' %
                                    (path, start, last_tested.line))
                else:
                    last_tested.output = body
            else:
                last_tested = None
            pending = None
            i = j + 1
            continue
        if pending and ln.strip():
            problems.append('%s:%d: a marker is not followed by a fenced block' % (path, pending[2]))
            pending = None
        i += 1
    if pending:
        problems.append('%s:%d: a marker is not followed by a fenced block' % (path, pending[2]))
    return blocks, requires, setup, problems


def missing_requirement(req):
    if req == 'data':
        d = os.environ.get('VS_DATA', '')
        return None if os.path.isdir(os.path.join(d, 'datasets')) else \
            'shared data not found at VS_DATA=%s' % d
    if req.startswith('model:'):
        name = req.split(':', 1)[1]
        d = os.environ.get('VS_FETCHED_MODELS') or os.environ.get('VS_MODEL_DIR') or \
            os.path.expanduser('~/.cache/vecstore/models')
        return None if os.path.isdir(os.path.join(d, name)) else \
            'model %s not in %s (scripts/get-model.sh fetches it)' % (name, d)
    if req.startswith('cmd:'):
        name = req.split(':', 1)[1]
        for p in os.environ.get('PATH', '').split(':') + ['/usr/sbin', '/sbin']:
            if p and os.access(os.path.join(p, name), os.X_OK):
                return None
        return '%s is not installed (scripts/deps.sh installs it)' % name
    return 'unknown requirement %r' % req


def output_matches(want, got):
    """want: lines, where "..." is any run of lines; got: lines."""
    def match(wi, gi):
        if wi == len(want):
            return gi == len(got)
        if want[wi] == '...':
            return any(match(wi + 1, g) for g in range(gi, len(got) + 1))
        return gi < len(got) and got[gi] == want[wi] and match(wi + 1, gi + 1)
    return match(0, 0)


def script_for(blocks, setup, workdir):
    """One bash script: the setup, then each block; records which block runs."""
    out = ['set -o pipefail', 'cd "$__VS_DOCS_CWD"']
    for s in setup:
        out += ['set -e', s, 'set +e']
    for n, b in enumerate(blocks):
        o = os.path.join(workdir, 'out.%d' % n)
        e = os.path.join(workdir, 'err.%d' % n)
        out.append('echo %d > "%s/current"; times >> "%s/times"' % (n, workdir, workdir))
        if b.exit == 0:
            # in this shell, so that cd, variables and jobs carry over; -e
            # ends the whole script at the first failing command
            out += ['set -e', '{', b.text, '} > "%s" 2> "%s" < /dev/null' % (o, e), 'set +e']
        else:
            out += ['( set -e', b.text, ') > "%s" 2> "%s" < /dev/null' % (o, e),
                    '__st=$?',
                    'if [ "$__st" -ne %d ]; then echo "$__st" > "%s/status"; exit 86; fi' % (b.exit, workdir)]
    out.append('echo done > "%s/current"; times >> "%s/times"' % (workdir, workdir))
    return '\n'.join(out) + '\n'


def cpu_per_block(path, rel, blocks):
    """FILE:LINE: CPU seconds (user + system of the block's commands), from
    bash's times before each block and at the end (its second line of each
    pair: the children's)."""
    def secs(field):
        m, s = field.rstrip('s').split('m')
        return int(m) * 60 + float(s)
    with open(path) as f:
        rec = f.read().split('\n')[1::2]
    tot = [sum(secs(x) for x in r.split()) for r in rec if r.strip()]
    return ['%s:%d: %.2f s CPU' % (rel, b.line, tot[i + 1] - tot[i])
            for i, b in enumerate(blocks) if i + 1 < len(tot)]


def tail(path, n=15):
    try:
        with open(path, encoding='utf-8', errors='replace') as f:
            return ''.join(f.readlines()[-n:])
    except OSError:
        return ''


def run(path, root):
    blocks, requires, setup, problems = parse(path)
    rel = os.path.relpath(path, root)
    if problems:
        print('\n'.join(p.replace(path, rel) for p in problems))
        return 1
    for r in requires:
        why = missing_requirement(r)
        if why:
            print('%s: skipped: %s' % (rel, why))
            return 77
    if not blocks:
        print('%s: no marked sh block' % rel)
        return 1
    env = dict(os.environ)
    env['VECSTORE'] = root
    env['__VS_DOCS_CWD'] = os.getcwd()
    with tempfile.TemporaryDirectory(prefix='docs-examples.') as work:
        script = os.path.join(work, 'examples.sh')
        with open(script, 'w') as f:
            f.write(script_for(blocks, setup, work))
        p = subprocess.Popen(['bash', script], env=env, start_new_session=True,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
        try:
            setup_out = p.communicate(timeout=BLOCK_TIMEOUT)[0].decode(errors='replace')
            status = p.returncode
        except subprocess.TimeoutExpired:
            setup_out, status = '', None
        finally:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            p.wait()
        cur = open(os.path.join(work, 'current')).read().strip() \
            if os.path.exists(os.path.join(work, 'current')) else None
        if cur is None:
            print('%s: the test-setup failed (status %s)\n%s' % (rel, status, setup_out))
            return 1
        if cur != 'done' or status != 0:
            b = blocks[int(cur)] if cur != 'done' else blocks[-1]
            if status is None:
                why = 'did not finish in %d s' % BLOCK_TIMEOUT
            elif status == 86:
                why = 'exited %s, expected %d' % (open(os.path.join(work, 'status')).read().strip(), b.exit)
            else:
                why = 'exited %d, expected %d' % (status, b.exit)
            n = blocks.index(b)
            print('%s:%d: the example %s\n--- the block:\n%s\n--- its stdout (end):\n%s--- its stderr (end):\n%s' %
                  (rel, b.line, why, b.text, tail(os.path.join(work, 'out.%d' % n)),
                   tail(os.path.join(work, 'err.%d' % n))))
            return 1
        for n, b in enumerate(blocks):
            if b.output is None:
                continue
            with open(os.path.join(work, 'out.%d' % n), encoding='utf-8', errors='replace') as f:
                got = f.read().split('\n')
            if got and got[-1] == '':
                got.pop()
            want = list(b.output)
            if not output_matches(want, got):
                print('%s:%d: the example\'s output differs from the page\n--- the page:\n%s\n--- the output:\n%s' %
                      (rel, b.line, '\n'.join(want), '\n'.join(got)))
                return 1
        if os.environ.get('DOCS_EXAMPLES_TIMES'):
            print('\n'.join(cpu_per_block(os.path.join(work, 'times'), rel, blocks)))
        print('%s: %d examples passed' % (rel, len(blocks)))
        return 0


def listing(root):
    files = [os.path.join(root, 'README.md')] + \
        sorted(glob.glob(os.path.join(root, 'docs', '**', '*.md'), recursive=True))
    for f in files:
        if os.path.exists(f) and parse(f)[0]:
            print(os.path.relpath(f, root))
    return 0


def c_sources(root):
    """The C sources' text, adjacent string literals joined, escapes of
    quotes and backslashes undone, so that a message reads as printed."""
    text = []
    for pat in ('cmd/*.c', 'cmd/*.h', 'lib/**/*.c', 'lib/**/*.h'):
        for f in glob.glob(os.path.join(root, pat), recursive=True):
            with open(f, encoding='utf-8', errors='replace') as fh:
                t = fh.read()
            t = re.sub(r'"\s*\n\s*"', '', t)
            text.append(t.replace('\\"', '"').replace('\\\\', '\\'))
    return '\n'.join(text)


def messages(path, root):
    """Check the quoted messages of FILE's <!-- messages --> tables."""
    with open(path, encoding='utf-8') as f:
        lines = f.read().split('\n')
    src = c_sources(root)
    n, bad = 0, []
    i = 0
    while i < len(lines):
        if lines[i].strip() == '<!-- messages -->':
            j = i + 1
            while j < len(lines) and not lines[j].startswith('|'):
                j += 1
            j += 2      # the header and the |---| line
            while j < len(lines) and lines[j].startswith('|'):
                m = re.match(r'^\|\s*`([^`]+)`\s*\|', lines[j])
                if not m:
                    bad.append('%s:%d: a message row without a `message` first' % (path, j + 1))
                else:
                    n += 1
                    for part in m.group(1).split('\u2026'):
                        if len(part.strip()) >= 4 and part not in src:
                            bad.append('%s:%d: %r is not in cmd/ or lib/' % (path, j + 1, part))
                j += 1
            i = j
        i += 1
    for b in bad:
        print(b)
    if n == 0:
        print('%s: no <!-- messages --> table' % path)
        return 1
    print('%s: %d messages checked' % (path, n)) if not bad else None
    return 1 if bad else 0


def exits(path, root):
    """Every exit status of the man pages is a row of its program's section."""
    with open(path, encoding='utf-8') as f:
        doc = f.read()
    bad = []
    for man in sorted(glob.glob(os.path.join(root, 'man', 'vs-*.1'))):
        prog = os.path.basename(man)[:-2]
        with open(man, encoding='utf-8') as f:
            t = f.read()
        m = re.search(r'^\.SH EXIT STATUS\n(.*?)^\.SH', t, re.S | re.M)
        if not m:
            bad.append('%s: no EXIT STATUS section' % man)
            continue
        codes = [c for c, what in re.findall(r'^(\d)\t(.*)$', m.group(1), re.M)
                 if 'not used' not in what]
        sec = re.search(r'^### %s\n(.*?)(?=^#{1,3} |\Z)' % re.escape(prog), doc, re.S | re.M)
        if not sec:
            bad.append('%s: no section "### %s"' % (path, prog))
            continue
        for c in codes:
            if not re.search(r'^\| %s \|' % c, sec.group(1), re.M):
                bad.append('%s: section %s has no row for exit %s (man/%s.1 lists it)' % (path, prog, c, prog))
    for b in bad:
        print(b)
    return 1 if bad else 0


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    default_root = os.path.normpath(os.path.join(here, '..', '..'))
    if len(argv) >= 2 and argv[1] == 'list':
        return listing(argv[2] if len(argv) > 2 else default_root)
    if len(argv) >= 3 and argv[1] == 'run':
        return run(os.path.abspath(argv[2]), os.path.abspath(argv[3]) if len(argv) > 3 else default_root)
    if len(argv) >= 3 and argv[1] == 'lint':
        bad = 0
        for f in argv[2:]:
            for p in parse(f)[3]:
                print(p)
                bad = 1
        return bad
    if len(argv) == 4 and argv[1] == 'messages':
        return messages(argv[2], argv[3])
    if len(argv) == 4 and argv[1] == 'exits':
        return exits(argv[2], argv[3])
    sys.stderr.write('usage: docs_examples.py list [ROOT] | run FILE [ROOT] | lint FILE... | '
                     'messages FILE ROOT | exits FILE ROOT\n')
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
