//! The Lua scripts, one per primitive (`scripts/*.lua`), each run after `scripts/prelude.lua` (the
//! helpers every script shares; `ARGV[1]` is always the key base `{prefix}{tag}`, `ARGV[2]` the deployment:
//! `c` on a Redis Cluster, `s` on one Redis, the latter followed by the near-cache invalidation channel
//! when writes publish to it: see `src/near.rs`). Each file's header comment says what
//! its `ARGV` holds and what it returns. The remember-me scripts (`remember_*.lua`) also get
//! `scripts/remember_prelude.lua`, between the prelude and their own text, and the one-time token
//! scripts (`one_time_*.lua`) `scripts/one_time_prelude.lua`.

use std::sync::LazyLock;

use redis::Script;

/// A script: the prelude, then the file's own text.
macro_rules! script {
    ($file:literal) => {
        Script::new(concat!(
            include_str!("../scripts/prelude.lua"),
            include_str!(concat!("../scripts/", $file))
        ))
    };
    (one_time $file:literal) => {
        Script::new(concat!(
            include_str!("../scripts/prelude.lua"),
            include_str!("../scripts/one_time_prelude.lua"),
            include_str!(concat!("../scripts/", $file))
        ))
    };
    (remember $file:literal) => {
        Script::new(concat!(
            include_str!("../scripts/prelude.lua"),
            include_str!("../scripts/remember_prelude.lua"),
            include_str!(concat!("../scripts/", $file))
        ))
    };
}

/// Every script of the store, compiled into the binary and loaded (`SCRIPT LOAD`) when the store connects.
pub(crate) struct Scripts {
    pub(crate) create: Script,
    pub(crate) fetch: Script,
    pub(crate) rotate: Script,
    pub(crate) put_user: Script,
    pub(crate) delete_by_token: Script,
    pub(crate) delete_session: Script,
    pub(crate) delete_user_sessions: Script,
    pub(crate) sessions: Script,
    pub(crate) session: Script,
    pub(crate) users_list: Script,
    pub(crate) users_batch: Script,
    pub(crate) sweep: Script,
    pub(crate) remember_create: Script,
    pub(crate) remember_redeem: Script,
    pub(crate) remember_delete: Script,
    pub(crate) remember_delete_user: Script,
    pub(crate) remember_series: Script,
    pub(crate) one_time_issue: Script,
    pub(crate) one_time_find: Script,
    pub(crate) one_time_code: Script,
    pub(crate) one_time_take: Script,
    pub(crate) one_time_revoke: Script,
}

impl Scripts {
    pub(crate) fn all(&self) -> [&Script; 22] {
        [
            &self.create,
            &self.fetch,
            &self.rotate,
            &self.put_user,
            &self.delete_by_token,
            &self.delete_session,
            &self.delete_user_sessions,
            &self.sessions,
            &self.session,
            &self.users_list,
            &self.users_batch,
            &self.sweep,
            &self.remember_create,
            &self.remember_redeem,
            &self.remember_delete,
            &self.remember_delete_user,
            &self.remember_series,
            &self.one_time_issue,
            &self.one_time_find,
            &self.one_time_code,
            &self.one_time_take,
            &self.one_time_revoke,
        ]
    }
}

pub(crate) static SCRIPTS: LazyLock<Scripts> = LazyLock::new(|| Scripts {
    create: script!("create.lua"),
    fetch: script!("fetch.lua"),
    rotate: script!("rotate.lua"),
    put_user: script!("put_user.lua"),
    delete_by_token: script!("delete_by_token.lua"),
    delete_session: script!("delete_session.lua"),
    delete_user_sessions: script!("delete_user_sessions.lua"),
    sessions: script!("sessions.lua"),
    session: script!("session.lua"),
    users_list: script!("users_list.lua"),
    users_batch: script!("users_batch.lua"),
    sweep: script!("sweep.lua"),
    remember_create: script!(remember "remember_create.lua"),
    remember_redeem: script!(remember "remember_redeem.lua"),
    remember_delete: script!(remember "remember_delete.lua"),
    remember_delete_user: script!(remember "remember_delete_user.lua"),
    remember_series: script!(remember "remember_series.lua"),
    one_time_issue: script!(one_time "one_time_issue.lua"),
    one_time_find: script!(one_time "one_time_find.lua"),
    one_time_code: script!(one_time "one_time_code.lua"),
    one_time_take: script!(one_time "one_time_take.lua"),
    one_time_revoke: script!(one_time "one_time_revoke.lua"),
});
