// People: search users by name (#/people) and a user's profile
// (#/people/<id>) with follow/unfollow, the followers and following lists
// and a "Message" button that opens (or creates) the direct chat.
//
// Everything from the API is put in the page as text (ctx.h), never as HTML.

let lastQuery = ''; // the search survives a visit to a profile and back

export function mount(el, ctx, params) {
  ctx.css('people');
  const state = { alive: true, timer: null, seq: 0 };
  const root = ctx.h('section', { class: 'people' });
  el.append(root);
  if (params.user_id) profile(root, ctx, params.user_id, state);
  else directory(root, ctx, state);
  return () => {
    state.alive = false;
    clearTimeout(state.timer);
    root.remove();
  };
}

function userRow(ctx, u, extra = null) {
  const { h } = ctx;
  return h('li', {},
    h('a', { class: 'userrow', href: `#/people/${u.id}`, dataset: { userId: u.id } },
      ctx.avatar(u, 40),
      h('span', { class: 'userrow-text' },
        h('span', { class: 'userrow-name' }, ctx.nameOf(u)),
        h('span', { class: 'muted userrow-handle' }, `@${u.username}`)),
      extra));
}

// A list of users with "Show more" (pages of next_cursor). fetchPage(cursor)
// answers {items, next_cursor}. Returns {el, reload()}.
function pagedList(ctx, state, fetchPage, empty, label) {
  const { h } = ctx;
  const ul = h('ul', { class: 'userlist', 'aria-label': label });
  const msg = h('p', { class: 'muted list-msg' });
  const more = h('button', { type: 'button', class: 'more', hidden: true }, 'Show more');
  let cursor = null;
  let gen = 0;
  async function load(reset) {
    const mine = reset ? ++gen : gen;
    if (reset) {
      cursor = null;
      ul.replaceChildren();
      msg.textContent = 'Loading…';
    }
    more.disabled = true;
    try {
      const page = await fetchPage(cursor);
      if (!state.alive || mine !== gen) return;
      for (const u of page.items) ul.append(userRow(ctx, u));
      cursor = page.next_cursor;
      more.hidden = !cursor;
      msg.textContent = ul.children.length ? '' : empty;
    } catch (e) {
      if (!state.alive || mine !== gen) return;
      msg.textContent = ctx.describe(e);
      msg.classList.add('error');
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener('click', () => load(false));
  return { el: h('div', { class: 'paged' }, ul, msg, more), reload: () => load(true) };
}

function directory(root, ctx, state) {
  const { h } = ctx;
  const input = h('input', { type: 'search', id: 'people-q', name: 'q', maxlength: '64',
    placeholder: 'Name or username', autocomplete: 'off', autocapitalize: 'none',
    spellcheck: 'false', value: lastQuery });
  const status = h('p', { class: 'muted', id: 'people-status', role: 'status' });
  const results = h('ul', { class: 'userlist', id: 'people-results', 'aria-label': 'Search results' });
  const more = h('button', { type: 'button', class: 'more', hidden: true }, 'Show more');
  const form = h('form', { role: 'search', class: 'people-search', onsubmit: (e) => {
    e.preventDefault();
    search(true);
  } }, h('label', { for: 'people-q' }, 'Find people'), input);
  const following = pagedList(ctx, state,
    (cursor) => ctx.api.get(`/users/${ctx.me.id}/following?limit=20${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`),
    'You do not follow anyone yet. Search for people above.', 'People you follow');
  root.append(
    h('div', { class: 'people-head' },
      h('h1', {}, 'People'),
      h('a', { href: `#/people/${ctx.me.id}`, class: 'button' }, 'Your profile')),
    form, status, results, more,
    h('h2', {}, 'You follow'), following.el);
  let cursor = null;

  async function search(reset) {
    const q = input.value.trim();
    lastQuery = input.value;
    const seq = ++state.seq;
    if (reset) {
      cursor = null;
      results.replaceChildren();
      more.hidden = true;
    }
    if (!q) {
      status.textContent = '';
      return;
    }
    status.textContent = 'Searching…';
    try {
      const page = await ctx.api.get(`/users/search?q=${encodeURIComponent(q)}&limit=20${
        cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      if (!state.alive || seq !== state.seq) return;
      for (const u of page.items) {
        results.append(userRow(ctx, u, u.id === ctx.me.id ? h('span', { class: 'tag' }, 'you') : null));
      }
      cursor = page.next_cursor;
      more.hidden = !cursor;
      const n = results.children.length;
      status.textContent = n ? `${n}${cursor ? '+' : ''} ${n === 1 ? 'person' : 'people'} found`
        : `Nobody's name starts with "${q}".`;
    } catch (e) {
      if (!state.alive || seq !== state.seq) return;
      status.textContent = ctx.describe(e);
    }
  }

  input.addEventListener('input', () => {
    clearTimeout(state.timer);
    state.timer = setTimeout(() => search(true), 250);
  });
  more.addEventListener('click', () => search(false));
  if (input.value.trim()) search(true);
  following.reload();
  input.focus();
}

function profile(root, ctx, id, state) {
  const { h } = ctx;
  const self = id === ctx.me.id;
  root.append(h('a', { href: '#/people', class: 'back' }, '← People'),
    h('p', { class: 'muted', role: 'status' }, 'Loading…'));

  ctx.api.get(`/users/${id}`).then((u) => {
    if (state.alive) render(u);
  }, (e) => {
    if (!state.alive) return;
    root.replaceChildren(h('a', { href: '#/people', class: 'back' }, '← People'),
      h('section', { class: 'card' },
        h('h1', {}, e.code === 'user_not_found' ? 'No such user' : 'This profile could not be loaded'),
        h('p', { class: e.code === 'user_not_found' ? 'muted' : 'error' }, ctx.describe(e))));
  });

  function render(u) {
    const followers = h('strong', { id: 'count-followers' }, String(u.followers_count));
    const followersWord = h('span', {}, u.followers_count === 1 ? ' follower' : ' followers');
    const followingN = h('strong', { id: 'count-following' }, String(u.following_count));
    const tabFollowers = h('button', { type: 'button', class: 'count', id: 'show-followers',
      'aria-expanded': 'false', 'aria-controls': 'profile-list' },
    followers, followersWord);
    const tabFollowing = h('button', { type: 'button', class: 'count', id: 'show-following',
      'aria-expanded': 'false', 'aria-controls': 'profile-list' },
    followingN, ' following');
    const actions = h('div', { class: 'actions' });
    const listTitle = h('h2', { id: 'profile-list-title' });
    const listBox = h('section', { class: 'card profile-list', id: 'profile-list', hidden: true,
      'aria-labelledby': 'profile-list-title' }, listTitle);
    let openList = null;

    const setCounts = (p) => {
      followers.textContent = String(p.followers_count);
      followersWord.textContent = p.followers_count === 1 ? ' follower' : ' followers';
      followingN.textContent = String(p.following_count);
    };

    if (self) {
      actions.append(h('a', { class: 'button', href: '#/settings' }, 'Edit profile'));
    } else {
      const follow = h('button', { type: 'button', id: 'follow', class: 'primary' });
      const setFollow = (on) => {
        follow.textContent = on ? 'Following' : 'Follow';
        follow.classList.toggle('primary', !on);
        follow.setAttribute('aria-pressed', String(on));
        follow.title = on ? `Stop following ${ctx.nameOf(u)}` : `Follow ${ctx.nameOf(u)}`;
        follow.dataset.following = String(on);
      };
      setFollow(u.is_following);
      follow.addEventListener('click', async () => {
        const on = follow.dataset.following === 'true';
        follow.disabled = true;
        try {
          const p = on ? await ctx.api.del(`/users/${id}/follow`) : await ctx.api.post(`/users/${id}/follow`);
          if (!state.alive) return;
          setFollow(p.is_following);
          setCounts(p);
          if (openList === 'followers') showList('followers');
          ctx.toast(p.is_following ? `You follow ${ctx.nameOf(p)}` : `You no longer follow ${ctx.nameOf(p)}`);
        } catch (e) {
          ctx.toast(ctx.describe(e), 'error');
        } finally {
          follow.disabled = false;
        }
      });
      const message = h('button', { type: 'button', id: 'message' }, 'Message');
      message.addEventListener('click', async () => {
        message.disabled = true;
        try {
          const chat = await ctx.api.post('/chats', { kind: 'direct', members: [id] });
          if (state.alive) ctx.navigate(`#/chats/${chat.id}`);
        } catch (e) {
          ctx.toast(ctx.describe(e), 'error');
          message.disabled = false;
        }
      });
      actions.append(follow, message);
    }

    function showList(which) {
      openList = which;
      tabFollowers.setAttribute('aria-expanded', String(which === 'followers'));
      tabFollowing.setAttribute('aria-expanded', String(which === 'following'));
      listTitle.textContent = which === 'followers' ? `Followers of ${ctx.nameOf(u)}`
        : `${ctx.nameOf(u)} follows`;
      const list = pagedList(ctx, state,
        (cursor) => ctx.api.get(`/users/${id}/${which}?limit=20${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`),
        which === 'followers' ? 'No followers yet.' : 'Not following anyone yet.', listTitle.textContent);
      listBox.replaceChildren(listTitle, list.el);
      listBox.hidden = false;
      listBox.dataset.list = which;
      list.reload();
    }
    const toggle = (which) => {
      if (openList === which) {
        openList = null;
        listBox.hidden = true;
        tabFollowers.setAttribute('aria-expanded', 'false');
        tabFollowing.setAttribute('aria-expanded', 'false');
      } else {
        showList(which);
      }
    };
    tabFollowers.addEventListener('click', () => toggle('followers'));
    tabFollowing.addEventListener('click', () => toggle('following'));

    const joined = new Date(u.created_at).toLocaleDateString([], { year: 'numeric', month: 'long' });
    root.replaceChildren(
      h('a', { href: '#/people', class: 'back' }, '← People'),
      h('article', { class: 'card profile', dataset: { userId: u.id } },
        ctx.avatar(u, 80),
        h('div', { class: 'profile-main' },
          h('h1', { id: 'profile-name' }, ctx.nameOf(u), self ? h('span', { class: 'tag' }, 'you') : null),
          h('p', { class: 'muted', id: 'profile-username' }, `@${u.username}`),
          u.bio ? h('p', { class: 'bio', id: 'profile-bio' }, u.bio) : null,
          h('p', { class: 'muted small' }, `Joined ${joined}`, u.role === 'admin' ? ' · admin' : ''),
          h('div', { class: 'counts' }, tabFollowers, tabFollowing),
          actions)),
      listBox);
    document.title = `${ctx.nameOf(u)} · Hypersend`;
  }
}
