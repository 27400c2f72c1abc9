#!/usr/bin/python3
"""lint-bats.py FILE...: find bats checks that cannot fail.

bats runs a test with `set -e`, and bash's `set -e` ignores a failing
`! CMD` pipeline and a failing command on the left of `&&`.  So in

    @test "x" {
        ! grep -q secret log     # ignored: the test goes on
        [ "$a" = 1 ] && [ "$b" = 2 ]   # a wrong $a is ignored
        [ "$c" = 3 ]
    }

only the last line of a test (or function) decides.  This lint reports, in
every function body of each file (@test, setup, helpers), each `! CMD`
pipeline and each `A && B` list that is not the body's last command, unless
the list ends in `|| false`, `|| return N`, `|| exit N`, `|| fail ...`
(then it does fail), `|| skip ...` (a guard) or `|| VAR=$?` (the status
is kept for a later check), or is `A && break`, `A && continue` or
`A && return` (loop control in a bounded wait, not a check).  `run ! CMD` and `[[ A && B ]]` are fine as they are.
Conditions of if/while/until are not checked (there a failure is the
point).  Write `run ! CMD`, `CMD || false`, separate `[ ]` lines, or an
`if` for a conditional action.

Output is TAP, one test per file, the findings as `# FILE:LINE: ...`
comments.  Exit status: 0 clean, 1 findings, 2 usage, 3 a file that does not
parse (named with its line).
"""
import bisect
import re
import sys

OPS = ["&&", "||", ";;", "|&", ";", "&", "|", "(", ")",
       "<<<", "<<-", "<<", ">>", "<&", ">&", "&>>", "&>", "<>", ">|", "<", ">"]
REDIRS = {"<<<", "<<-", "<<", ">>", "<&", ">&", "&>>", "&>", "<>", ">|", "<", ">"}
FAILERS = {"false", "return", "exit", "fail", "flunk", "skip"}
FLOW = {"break", "continue", "return"}
STATUS_CAPTURE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=\$\?$")


class ParseError(Exception):
    def __init__(self, line, msg):
        super().__init__(msg)
        self.line = line


class Tok:
    __slots__ = ("kind", "text", "pos")

    def __init__(self, kind, text, pos):
        self.kind, self.text, self.pos = kind, text, pos


class Lexer:
    def __init__(self, s):
        self.s = s
        self.n = len(s)
        self.nl = [i for i, c in enumerate(s) if c == "\n"]

    def line(self, pos):
        return bisect.bisect_left(self.nl, pos) + 1

    def err(self, pos, msg):
        raise ParseError(self.line(pos), msg)

    def skip_sq(self, i):  # s[i] == "'"
        j = self.s.find("'", i + 1)
        if j < 0:
            self.err(i, "unterminated single quote")
        return j + 1

    def skip_ansi(self, i):  # s[i] == "'" after $
        i += 1
        while i < self.n and self.s[i] != "'":
            i += 2 if self.s[i] == "\\" else 1
        if i >= self.n:
            self.err(i, "unterminated $'...'")
        return i + 1

    def skip_dq(self, i):  # s[i] == '"'
        start = i
        i += 1
        while i < self.n:
            c = self.s[i]
            if c == "\\":
                i += 2
            elif c == '"':
                return i + 1
            elif c == "`":
                i = self.skip_bq(i)
            elif c == "$" and self.s.startswith("$(", i):
                i = self.skip_parens(i + 1)
            elif c == "$" and self.s.startswith("${", i):
                i = self.skip_braces(i + 1)
            else:
                i += 1
        self.err(start, "unterminated double quote")

    def skip_bq(self, i):
        start = i
        i += 1
        while i < self.n:
            if self.s[i] == "\\":
                i += 2
            elif self.s[i] == "`":
                return i + 1
            else:
                i += 1
        self.err(start, "unterminated backquote")

    def skip_braces(self, i):  # s[i] == "{"
        start, depth = i, 0
        while i < self.n:
            c = self.s[i]
            if c == "\\":
                i += 2
                continue
            if c == "'":
                i = self.skip_sq(i)
                continue
            if c == '"':
                i = self.skip_dq(i)
                continue
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        self.err(start, "unterminated ${")

    def skip_parens(self, i):  # s[i] == "(": to the matching ")"
        start, depth = i, 0
        while i < self.n:
            c = self.s[i]
            if c == "\\":
                i += 2
                continue
            if c == "'":
                i = self.skip_sq(i)
                continue
            if c == '"':
                i = self.skip_dq(i)
                continue
            if c == "`":
                i = self.skip_bq(i)
                continue
            if c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        self.err(start, "unterminated (")

    def word(self, i):
        start = i
        while i < self.n:
            c = self.s[i]
            if c in " \t\n;&|()<>":
                if c == "(" and i > start and self.s[i - 1] == "=":
                    i = self.skip_parens(i)  # a=(1 2 3)
                    continue
                if c in "<>" and self.s.startswith("(", i + 1):
                    i = self.skip_parens(i + 1)  # <(cmd) >(cmd)
                    continue
                break
            if c == "\\":
                i += 2
            elif c == "'":
                i = self.skip_sq(i)
            elif c == '"':
                i = self.skip_dq(i)
            elif c == "`":
                i = self.skip_bq(i)
            elif c == "$" and self.s.startswith("$((", i):
                i = self.skip_parens(i + 1)
            elif c == "$" and self.s.startswith("$(", i):
                i = self.skip_parens(i + 1)
            elif c == "$" and self.s.startswith("${", i):
                i = self.skip_braces(i + 1)
            elif c == "$" and self.s.startswith("$'", i):
                i = self.skip_ansi(i + 1)
            else:
                i += 1
        return i

    def tokens(self):
        s, i, out, pending = self.s, 0, [], []
        while i < self.n:
            c = s[i]
            if c in " \t":
                i += 1
            elif c == "\\" and s.startswith("\n", i + 1):
                i += 2
            elif c == "#" and (i == 0 or s[i - 1] in " \t\n;&|()"):
                j = s.find("\n", i)
                i = self.n if j < 0 else j
            elif c == "\n":
                out.append(Tok("NL", "\n", i))
                i += 1
                for delim, strip in pending:  # here-document bodies
                    while True:
                        if i >= self.n:
                            self.err(i, "here-document '%s' not ended" % delim)
                        j = s.find("\n", i)
                        j = self.n if j < 0 else j
                        ln = s[i:j]
                        i = j + 1
                        if (ln.lstrip("\t") if strip else ln) == delim:
                            break
                pending = []
            elif c in "<>" and s.startswith("(", i + 1):
                j = self.word(i)
                out.append(Tok("W", s[i:j], i))
                i = j
            elif s.startswith("((", i) and (not out or out[-1].kind != "W"
                                             or out[-1].text == "for"):
                j = self.skip_parens(i)  # arithmetic command (( ... ))
                out.append(Tok("W", s[i:j], i))
                i = j
            elif c in ";&|()<>":
                op = next(o for o in OPS if s.startswith(o, i))
                out.append(Tok("OP", op, i))
                i += len(op)
                if op in ("<<", "<<-"):
                    while i < self.n and s[i] in " \t":
                        i += 1
                    j = self.word(i)
                    raw = s[i:j]
                    out.append(Tok("W", raw, i))
                    i = j
                    pending.append((raw.replace("'", "").replace('"', "").replace("\\", ""),
                                    op == "<<-"))
            else:
                j = self.word(i)
                out.append(Tok("W", s[i:j], i))
                i = j
        out.append(Tok("EOF", "", self.n))
        return out


class Pipe:
    def __init__(self, neg, words):
        self.neg = neg
        self.words = words  # words of the pipeline's first command


class Stmt:
    def __init__(self, pos):
        self.pos = pos
        self.pipes = []
        self.ops = []
        self.subs = []  # nested (kind, statements) of compound commands


class Func:
    def __init__(self, name, pos, body):
        self.name, self.pos, self.body = name, pos, body


class Parser:
    def __init__(self, lexer):
        self.lx = lexer
        self.t = lexer.tokens()
        self.k = 0
        self.funcs = []

    def peek(self, d=0):
        return self.t[min(self.k + d, len(self.t) - 1)]

    def next(self):
        tok = self.t[self.k]
        self.k += 1
        return tok

    def is_w(self, text, d=0):
        tok = self.peek(d)
        return tok.kind == "W" and tok.text == text

    def is_op(self, text, d=0):
        tok = self.peek(d)
        return tok.kind == "OP" and tok.text == text

    def expect_w(self, text):
        if not self.is_w(text):
            self.lx.err(self.peek().pos, "expected '%s', found '%s'" % (text, self.peek().text))
        self.next()

    def skip_nl(self):
        while self.peek().kind == "NL":
            self.next()

    def parse_list(self, ends):
        stmts = []
        while True:
            while self.peek().kind == "NL" or self.is_op(";") or self.is_op("&"):
                self.next()
            tok = self.peek()
            if tok.kind == "EOF" or (tok.kind == "W" and tok.text in ends) \
                    or (tok.kind == "OP" and tok.text in (")", ";;")):
                return stmts
            stmts.append(self.parse_andor())

    def parse_andor(self):
        st = Stmt(self.peek().pos)
        st.pipes.append(self.parse_pipeline(st))
        while self.is_op("&&") or self.is_op("||"):
            st.ops.append(self.next().text)
            self.skip_nl()
            st.pipes.append(self.parse_pipeline(st))
        return st

    def parse_pipeline(self, st):
        neg = False
        while self.is_w("!") or self.is_w("time"):
            neg = neg or self.next().text == "!"
        words = self.parse_command(st)
        while self.is_op("|") or self.is_op("|&"):
            self.next()
            self.skip_nl()
            self.parse_command(st)
        return Pipe(neg, words)

    def redirections(self):
        while self.peek().kind == "OP" and self.peek().text in REDIRS:
            self.next()
            if self.peek().kind == "W":
                self.next()

    def parse_command(self, st):
        tok = self.peek()
        if tok.kind == "OP" and tok.text == "(":
            self.next()
            st.subs.append(("subshell", self.parse_list(())))
            if not self.is_op(")"):
                self.lx.err(tok.pos, "unmatched (")
            self.next()
            self.redirections()
            return ["("]
        if tok.kind != "W":
            self.redirections()
            if self.peek().kind != "W":
                return []
            tok = self.peek()
        w = tok.text
        if w == "if":
            self.next()
            self.parse_list(("then",))
            self.expect_w("then")
            st.subs.append(("if", self.parse_list(("elif", "else", "fi"))))
            while self.is_w("elif"):
                self.next()
                self.parse_list(("then",))
                self.expect_w("then")
                st.subs.append(("if", self.parse_list(("elif", "else", "fi"))))
            if self.is_w("else"):
                self.next()
                st.subs.append(("if", self.parse_list(("fi",))))
            self.expect_w("fi")
        elif w in ("while", "until"):
            self.next()
            self.parse_list(("do",))
            self.expect_w("do")
            st.subs.append(("loop", self.parse_list(("done",))))
            self.expect_w("done")
        elif w in ("for", "select"):
            self.next()
            while self.peek().kind == "W" and not self.is_w("do"):
                self.next()
            while self.peek().kind == "NL" or self.is_op(";"):
                self.next()
            self.expect_w("do")
            st.subs.append(("loop", self.parse_list(("done",))))
            self.expect_w("done")
        elif w == "case":
            self.next()
            while not self.is_w("in"):
                if self.peek().kind == "EOF":
                    self.lx.err(tok.pos, "case without in")
                self.next()
            self.next()
            while True:
                self.skip_nl()
                if self.is_w("esac") or self.peek().kind == "EOF":
                    break
                if self.is_op("("):
                    self.next()
                while not self.is_op(")"):
                    if self.peek().kind == "EOF":
                        self.lx.err(tok.pos, "case pattern without )")
                    self.next()
                self.next()
                st.subs.append(("case", self.parse_list(("esac",))))
                if self.is_op(";;"):
                    self.next()
            self.expect_w("esac")
        elif w == "{":
            self.next()
            st.subs.append(("group", self.parse_list(("}",))))
            self.expect_w("}")
        elif w == "[[":
            words = []
            while not self.is_w("]]"):
                if self.peek().kind in ("EOF", "NL"):
                    self.lx.err(tok.pos, "[[ without ]]")
                words.append(self.next().text)
            self.next()
            self.redirections()
            return ["[["] + words
        elif w == "@test" or w == "function" or (self.is_op("(", 1) and self.is_op(")", 2)):
            self.next()
            if w in ("@test", "function"):
                name = self.next().text
            else:
                name = w
            if self.is_op("("):
                self.next()
                self.next()
            self.skip_nl()
            if not self.is_w("{"):
                self.lx.err(tok.pos, "function body is not a { } group")
            self.next()
            body = self.parse_list(("}",))
            self.expect_w("}")
            self.funcs.append(Func(name, tok.pos, body))
            return ["function"]
        else:
            words = []
            while True:
                t2 = self.peek()
                if t2.kind == "W":
                    words.append(self.next().text)
                elif t2.kind == "OP" and t2.text in REDIRS:
                    self.redirections()
                else:
                    break
            return words
        self.redirections()
        return [w]


def flagged(st):
    neg = any(p.neg for p in st.pipes)
    chain = "&&" in st.ops
    if not (neg or chain):
        return None
    last = st.pipes[-1].words
    if st.ops and st.ops[-1] == "||" and last and not st.pipes[-1].neg \
            and (last[0] in FAILERS or (len(last) == 1 and STATUS_CAPTURE.match(last[0]))):
        return None  # CMD || false; CMD && s=0 || s=$? (the status is kept)
    if not neg and st.ops[-1] == "&&" and st.pipes[-1].words and st.pipes[-1].words[0] in FLOW:
        return None  # [ -s port ] && break: a bounded wait loop, no check
    return "'! CMD'" if neg and not chain else "'A && B'"


def check(path, stmts, fname, last_ok, lx, found):
    for i, st in enumerate(stmts):
        what = flagged(st)
        if what and not (last_ok and i == len(stmts) - 1):
            found.append("%s:%d: %s is not the last command of '%s', so its failure "
                         "is ignored (use run !, || false, or separate [ ] lines)"
                         % (path, lx.line(st.pos), what, fname))
        for kind, sub in st.subs:
            # a subshell's last command is its status, which set -e sees
            check(path, sub, fname, kind == "subshell", lx, found)


def lint(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    lx = Lexer(text)
    p = Parser(lx)
    p.parse_list(())
    if p.peek().kind != "EOF":
        lx.err(p.peek().pos, "unexpected '%s'" % p.peek().text)
    found = []
    for fn in p.funcs:
        check(path, fn.body, fn.name.strip('"'), True, lx, found)
    return found, len(p.funcs)


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        sys.stderr.write(__doc__)
        return 2 if len(argv) < 2 else 0
    files = argv[1:]
    print("1..%d" % len(files))
    status = 0
    for n, path in enumerate(files, 1):
        try:
            found, nfuncs = lint(path)
        except ParseError as e:
            print("not ok %d - lint-bats: %s" % (n, path))
            print("# %s:%d: cannot parse: %s" % (path, e.line, e))
            status = max(status, 3)
            continue
        except OSError as e:
            print("not ok %d - lint-bats: %s" % (n, path))
            print("# %s: %s" % (path, e.strerror))
            status = max(status, 3)
            continue
        if found:
            print("not ok %d - lint-bats: %s (%d findings)" % (n, path, len(found)))
            for f in found:
                print("# " + f)
            status = max(status, 1)
        else:
            print("ok %d - lint-bats: %s (%d functions)" % (n, path, nfuncs))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
