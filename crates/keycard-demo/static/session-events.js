// The profile page listens to /events (server-sent events): when this session ends anywhere (signed
// out on another device, revoked, ended by a password change), the server sends `ended` and the page
// says so without a reload. No inline script: the page's CSP allows only files from this origin.
(function () {
  'use strict';
  var notice = document.getElementById('session-ended');
  if (!notice || typeof EventSource === 'undefined') return;
  var source = new EventSource('/events');
  source.addEventListener('ended', function () {
    source.close();
    notice.hidden = false;
  });
  source.onerror = function () {
    // Not signed in any more, or the server went away: stop; the next page load tells the truth.
    source.close();
  };
  window.addEventListener('pagehide', function () { source.close(); });
})();
