// libedit's native API. el_set, el_get and history are C variadic functions, which Swift does
// not import: one static inline wrapper per form Normlab uses.
#include <stdio.h>
#include <histedit.h>

static inline FILE *nl_stdin(void) { return stdin; }
static inline FILE *nl_stdout(void) { return stdout; }
static inline FILE *nl_stderr(void) { return stderr; }

static inline int nl_el_set_prompt(EditLine *e, char *(*prompt)(EditLine *)) { return el_set(e, EL_PROMPT, prompt); }
static inline int nl_el_set_editor(EditLine *e, const char *mode) { return el_set(e, EL_EDITOR, mode); }
static inline int nl_el_set_history(EditLine *e, History *h) { return el_set(e, EL_HIST, history, h); }
static inline int nl_el_set_signal(EditLine *e, int on) { return el_set(e, EL_SIGNAL, on); }
static inline int nl_el_add_function(EditLine *e, const char *name, const char *help, unsigned char (*f)(EditLine *, int)) {
    return el_set(e, EL_ADDFN, name, help, f);
}
static inline int nl_el_bind(EditLine *e, const char *key, const char *name) { return el_set(e, EL_BIND, key, name, NULL); }
static inline int nl_el_source_default(EditLine *e) { return el_source(e, NULL); }

static inline int nl_history_setsize(History *h, HistEvent *ev, int size) { return history(h, ev, H_SETSIZE, size); }
static inline int nl_history_enter(History *h, HistEvent *ev, const char *line) { return history(h, ev, H_ENTER, line); }
static inline int nl_history_load(History *h, HistEvent *ev, const char *file) { return history(h, ev, H_LOAD, file); }
static inline int nl_history_save(History *h, HistEvent *ev, const char *file) { return history(h, ev, H_SAVE, file); }
static inline int nl_history_save_fp(History *h, HistEvent *ev, FILE *fp) { return history(h, ev, H_SAVE_FP, fp); }
static inline int nl_history_unique(History *h, HistEvent *ev, int on) { return history(h, ev, H_SETUNIQUE, on); }
