// One object per signed-in session: uploads and P2P transfers belong to the
// session, not to a view, so they go on when a view is left. The object is
// made on first use, kept while the session lasts, and destroyed when
// another session asks for one or at sign-out.
//
//   const uploads = perSession((ctx) => new Uploads(ctx));
//   uploads.of(ctx);   // the session's (ctx: the shell's, or a page's)
//   uploads.stop();    // sign-out: destroy() it
//
// fits(obj, ctx) says whether obj still serves ctx (by default: made for it).

export function perSession(make, fits = (obj, ctx) => obj.ctx === ctx) {
  let current = null;
  return {
    of(ctx) {
      if (current && fits(current, ctx)) return current;
      if (current) current.destroy();
      current = make(ctx);
      return current;
    },
    stop() {
      if (current) current.destroy();
      current = null;
    },
  };
}
