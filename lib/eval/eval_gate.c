/* eval_gate.c: quality gates ("ndcg@10 >= 0.60") from YAML files and the
 * command line, checked against evaluation results. */
#include "eval_internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

enum gate_op { OP_GE, OP_LE, OP_GT, OP_LT, OP_EQ, OP_NE };
static const char *const op_text[] = {">=", "<=", ">", "<", "==", "!="};

struct gate {
    char *text;
    char measure[96];
    int op;
    double threshold;
    int regression;
};

struct vs_eval_gates {
    struct gate *g;
    size_t n;
};

int vs_eval_gates_new(struct vs_eval_gates **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? VS_OK : VS_E_NOMEM;
}

void vs_eval_gates_free(struct vs_eval_gates *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n; i++)
        free(g->g[i].text);
    free(g->g);
    free(g);
}

size_t vs_eval_gates_count(const struct vs_eval_gates *g) { return g ? g->n : 0; }
const char *vs_eval_gates_measure(const struct vs_eval_gates *g, size_t i) { return g->g[i].measure; }
int vs_eval_gates_needs_baseline(const struct vs_eval_gates *g, size_t i) { return g->g[i].regression; }

static const char *skip_ws(const char *p)
{
    while (*p && isspace((unsigned char)*p))
        p++;
    return p;
}

static int parse_op(const char **pp)
{
    const char *p = *pp;
    for (int i = 0; i < 6; i++) {
        size_t l = strlen(op_text[i]);
        if (strncmp(p, op_text[i], l) == 0) {
            *pp = p + l;
            return i;
        }
    }
    return -1;
}

static int bad_rule(struct vs_diag *d, const char *origin, long line, long col,
                    const char *rule, const char *why)
{
    if (origin)
        vs_diag_where(d, origin, line);
    if (d)
        d->col = col;
    return vs_diag_set(d, VS_E_CONFIG, "gate '%s': %s", rule, why);
}

int vs_eval_gates_add(struct vs_eval_gates *g, const char *rule,
                      const char *origin, long line, long col,
                      struct vs_diag *d)
{
    struct gate gt;
    memset(&gt, 0, sizeof gt);
    const char *p = skip_ws(rule);
    char name[96];
    size_t nl = 0;
    while (*p && !isspace((unsigned char)*p) && !strchr("<>=!", *p)) {
        if (nl + 1 < sizeof name)
            name[nl++] = *p;
        p++;
    }
    name[nl] = '\0';
    if (nl == 0)
        return bad_rule(d, origin, line, col, rule, "no measure "
                        "(expected 'MEASURE OP NUMBER', e.g. 'ndcg@10 >= 0.6')");
    struct vs_diag md;
    vs_diag_clear(&md);
    if (vs_eval_canonical(name, gt.measure, sizeof gt.measure, &md) != VS_OK)
        return bad_rule(d, origin, line, col, rule, md.detail);
    p = skip_ws(p);
    if (strncmp(p, "regression", 10) == 0 &&
        (isspace((unsigned char)p[10]) || strchr("<>=!", p[10]))) {
        gt.regression = 1;
        p = skip_ws(p + 10);
    }
    gt.op = parse_op(&p);
    if (gt.op < 0)
        return bad_rule(d, origin, line, col, rule,
                        "expected an operator (>=, <=, >, <, ==, !=)");
    if (gt.regression && gt.op != OP_LE && gt.op != OP_LT)
        return bad_rule(d, origin, line, col, rule,
                        "a regression gate takes '<=' or '<'");
    p = skip_ws(p);
    char *end;
    errno = 0;
    gt.threshold = strtod(p, &end);
    if (errno || end == p || !isfinite(gt.threshold))
        return bad_rule(d, origin, line, col, rule, "expected a number after the operator");
    p = skip_ws(end);
    if (strncmp(p, "against", 7) == 0) {
        p = skip_ws(p + 7);
        if (strncmp(p, "baseline", 8) != 0)
            return bad_rule(d, origin, line, col, rule, "expected 'against baseline'");
        if (!gt.regression)
            return bad_rule(d, origin, line, col, rule,
                            "'against baseline' needs 'regression'");
        p = skip_ws(p + 8);
    }
    if (*p)
        return bad_rule(d, origin, line, col, rule, "unexpected text after the number");
    struct gate *ng = realloc(g->g, (g->n + 1) * sizeof *ng);
    if (!ng)
        return VS_E_NOMEM;
    g->g = ng;
    gt.text = strdup(skip_ws(rule));
    if (!gt.text)
        return VS_E_NOMEM;
    g->g[g->n++] = gt;
    return VS_OK;
}

int vs_eval_gates_add_fail_under(struct vs_eval_gates *g, const char *arg,
                                 struct vs_diag *d)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1])
        return vs_diag_set(d, VS_E_USAGE, "--fail-under needs MEASURE=VALUE, not '%s'", arg);
    char rule[256];
    snprintf(rule, sizeof rule, "%.*s >= %s", (int)(eq - arg), arg, eq + 1);
    int st = vs_eval_gates_add(g, rule, NULL, 0, 0, d);
    if (st != VS_OK && d) {
        d->file[0] = '\0';
        d->line = d->col = 0;
        return VS_E_USAGE;
    }
    return st;
}

static int yaml_rule(struct vs_eval_gates *g, yaml_document_t *doc,
                     yaml_node_t *n, const char *path, struct vs_diag *d)
{
    long line = (long)n->start_mark.line + 1, col = (long)n->start_mark.column + 1;
    if (n->type != YAML_SCALAR_NODE) {
        vs_diag_where(d, path, line);
        if (d)
            d->col = col;
        return vs_diag_set(d, VS_E_CONFIG, "a gate must be a string such as 'ndcg@10 >= 0.6'");
    }
    (void)doc;
    return vs_eval_gates_add(g, (const char *)n->data.scalar.value, path, line, col, d);
}

int vs_eval_gates_load(struct vs_eval_gates *g, const char *path,
                       struct vs_diag *d)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        int e = errno;
        vs_diag_where(d, path, 0);
        return vs_diag_set(d, vs_status_from_errno(e) == VS_E_NOMEM ? VS_E_NOMEM : VS_E_CONFIG,
                           "cannot open gate file: %s", strerror(e));
    }
    yaml_parser_t parser;
    yaml_document_t doc;
    int st = VS_OK, have_doc = 0;
    if (!yaml_parser_initialize(&parser)) {
        fclose(fp);
        return VS_E_NOMEM;
    }
    yaml_parser_set_input_file(&parser, fp);
    if (!yaml_parser_load(&parser, &doc)) {
        vs_diag_where(d, path, (long)parser.problem_mark.line + 1);
        if (d)
            d->col = (long)parser.problem_mark.column + 1;
        st = vs_diag_set(d, VS_E_CONFIG, "YAML: %s",
                         parser.problem ? parser.problem : "does not parse");
        goto done;
    }
    have_doc = 1;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        vs_diag_where(d, path, 1);
        st = vs_diag_set(d, VS_E_CONFIG, "the gate file is empty");
        goto done;
    }
    yaml_node_t *seq = root;
    if (root->type == YAML_MAPPING_NODE) {
        seq = NULL;
        for (yaml_node_pair_t *pr = root->data.mapping.pairs.start;
             pr < root->data.mapping.pairs.top; pr++) {
            yaml_node_t *k = yaml_document_get_node(&doc, pr->key);
            yaml_node_t *v = yaml_document_get_node(&doc, pr->value);
            if (k->type == YAML_SCALAR_NODE &&
                strcmp((const char *)k->data.scalar.value, "gates") == 0)
                seq = v;
            else {
                vs_diag_where(d, path, (long)k->start_mark.line + 1);
                if (d)
                    d->col = (long)k->start_mark.column + 1;
                st = vs_diag_set(d, VS_E_CONFIG, "unknown key (expected 'gates')");
                goto done;
            }
        }
        if (!seq) {
            vs_diag_where(d, path, (long)root->start_mark.line + 1);
            st = vs_diag_set(d, VS_E_CONFIG, "no 'gates' list");
            goto done;
        }
    }
    if (seq->type != YAML_SEQUENCE_NODE) {
        vs_diag_where(d, path, (long)seq->start_mark.line + 1);
        if (d)
            d->col = (long)seq->start_mark.column + 1;
        st = vs_diag_set(d, VS_E_CONFIG, "expected a list of gates");
        goto done;
    }
    for (yaml_node_item_t *it = seq->data.sequence.items.start;
         it < seq->data.sequence.items.top; it++) {
        st = yaml_rule(g, &doc, yaml_document_get_node(&doc, *it), path, d);
        if (st != VS_OK)
            goto done;
    }
done:
    if (have_doc)
        yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    fclose(fp);
    return st;
}

static int holds(int op, double v, double t)
{
    switch (op) {
    case OP_GE: return v >= t;
    case OP_LE: return v <= t;
    case OP_GT: return v > t;
    case OP_LT: return v < t;
    case OP_EQ: return v == t;
    default: return v != t;
    }
}

int vs_eval_gates_check(const struct vs_eval_gates *g,
                        const struct vs_eval_result *res,
                        const struct vs_eval_result *base, json_t **verdicts,
                        long *failed, struct vs_diag *d)
{
    *verdicts = json_array();
    *failed = 0;
    if (!*verdicts)
        return VS_E_NOMEM;
    for (size_t i = 0; g && i < g->n; i++) {
        const struct gate *gt = &g->g[i];
        double v, b = 0;
        if (!vs_eval_result_get(res, gt->measure, &v)) {
            json_decref(*verdicts);
            *verdicts = NULL;
            return vs_diag_set(d, VS_E_USAGE, "gate '%s': measure '%s' was not "
                               "computed%s", gt->text, gt->measure,
                               strncmp(gt->measure, "ann_", 4) == 0 ||
                               strcmp(gt->measure, "k_shortfall") == 0 ? " (needs --against)" :
                               strncmp(gt->measure, "latency", 7) == 0 ? " (hits carry no 'elapsed_us')" : "");
        }
        if (gt->regression) {
            if (!base || !vs_eval_result_get(base, gt->measure, &b)) {
                json_decref(*verdicts);
                *verdicts = NULL;
                return vs_diag_set(d, VS_E_USAGE, "gate '%s' needs --baseline", gt->text);
            }
        }
        double x = gt->regression ? b - v : v;
        int pass = holds(gt->op, x, gt->threshold);
        if (!pass)
            (*failed)++;
        json_t *o = json_object();
        json_object_set_new(o, "rule", json_string(gt->text));
        json_object_set_new(o, "measure", json_string(gt->measure));
        if (gt->regression) {
            json_object_set_new(o, "baseline", json_real(b));
            json_object_set_new(o, "run", json_real(v));
            json_object_set_new(o, "regression", json_real(x));
        } else
            json_object_set_new(o, "value", json_real(v));
        json_object_set_new(o, "op", json_string(op_text[gt->op]));
        json_object_set_new(o, "threshold", json_real(gt->threshold));
        json_object_set_new(o, "pass", json_boolean(pass));
        json_array_append_new(*verdicts, o);
    }
    return VS_OK;
}
