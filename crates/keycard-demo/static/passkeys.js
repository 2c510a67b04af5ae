// The passkey ceremonies of the demo's pages: every <form data-passkey="register|sign-in|second-step">.
// A sign-in form marked data-passkey-autofill also offers its passkeys in the browser's autofill.
// On submit: ask the server for options (POST data-options, with the form's CSRF token as X-CSRF-Token),
// hand them to the browser's WebAuthn call, put the ceremony token and the credential's JSON into the
// form's hidden fields, and submit the form (the server checks the answer and answers as a form does).
// No inline script: the page's CSP allows only files from this origin.
(function () {
  'use strict';

  function fromB64url(s) {
    var b64 = s.replace(/-/g, '+').replace(/_/g, '/');
    while (b64.length % 4) b64 += '=';
    var bin = atob(b64);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function toB64url(buf) {
    var bytes = new Uint8Array(buf);
    var bin = '';
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function withIds(list) {
    return (list || []).map(function (c) {
      return Object.assign({}, c, { id: fromB64url(c.id) });
    });
  }

  // The options' JSON as the WebAuthn calls take them (the browser's own parser where it has one).
  function creationOptions(pk) {
    if (PublicKeyCredential.parseCreationOptionsFromJSON) {
      try { return PublicKeyCredential.parseCreationOptionsFromJSON(pk); } catch (e) { /* below */ }
    }
    return Object.assign({}, pk, {
      challenge: fromB64url(pk.challenge),
      user: Object.assign({}, pk.user, { id: fromB64url(pk.user.id) }),
      excludeCredentials: withIds(pk.excludeCredentials),
    });
  }

  function requestOptions(pk) {
    if (PublicKeyCredential.parseRequestOptionsFromJSON) {
      try { return PublicKeyCredential.parseRequestOptionsFromJSON(pk); } catch (e) { /* below */ }
    }
    return Object.assign({}, pk, {
      challenge: fromB64url(pk.challenge),
      allowCredentials: withIds(pk.allowCredentials),
    });
  }

  // The credential as `JSON.stringify(credential)` writes it where the browser has `toJSON`.
  function credentialJson(cred) {
    if (typeof cred.toJSON === 'function') return JSON.stringify(cred);
    var r = cred.response;
    var response = { clientDataJSON: toB64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toB64url(r.attestationObject);
      if (r.getTransports) response.transports = r.getTransports();
    } else {
      response.authenticatorData = toB64url(r.authenticatorData);
      response.signature = toB64url(r.signature);
      if (r.userHandle) response.userHandle = toB64url(r.userHandle);
    }
    return JSON.stringify({
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      response: response,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      authenticatorAttachment: cred.authenticatorAttachment || null,
    });
  }

  // The browser's autofill offer of passkeys ("conditional mediation"): where the browser has it, the
  // sign-in page asks for a ceremony as it loads and lets the browser list this site's passkeys among the
  // email field's suggestions (its autocomplete says `webauthn`); choosing one submits the form below as
  // the button would. The ceremony record lives 5 minutes: the request is made again a few times, then
  // left to the button. The button's own request aborts this one first (one WebAuthn call at a time).
  var CONDITIONAL_RENEW_MS = 4 * 60 * 1000;
  var CONDITIONAL_ROUNDS = 3;

  function conditional(form, options) {
    var state = { controller: null, timer: null, stopped: false };
    function stop() {
      state.stopped = true;
      form.removeAttribute('data-passkey-autofill-state');
      if (state.timer) clearTimeout(state.timer);
      if (state.controller) state.controller.abort();
    }
    function round(left) {
      if (state.stopped || left <= 0) return;
      var controller = new AbortController();
      state.controller = controller;
      options().then(function (ceremony) {
        if (!ceremony || state.stopped) return null;
        state.timer = setTimeout(function () {
          controller.abort();
          round(left - 1);
        }, CONDITIONAL_RENEW_MS);
        // Scripts and tests can tell that the browser's autofill now offers the passkeys.
        form.setAttribute('data-passkey-autofill-state', 'offered');
        return navigator.credentials.get({
          mediation: 'conditional',
          publicKey: requestOptions(ceremony.options.publicKey),
          signal: controller.signal,
        }).then(function (cred) {
          if (!cred || state.stopped) return;
          stop();
          form.elements.token.value = ceremony.token;
          form.elements.credential.value = credentialJson(cred);
          form.submit();
        });
      }).catch(function () {
        // Aborted (renewed, or the button took over), refused or limited: the button still works.
      });
    }
    if (!PublicKeyCredential.isConditionalMediationAvailable) return stop;
    PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
      if (available) round(CONDITIONAL_ROUNDS);
    }, function () {});
    return stop;
  }

  function setup(form) {
    var kind = form.getAttribute('data-passkey');
    var button = form.querySelector('button[type=submit]');
    var error = form.querySelector('[data-passkey-error]');
    var unsupported = form.querySelector('[data-passkey-unsupported]');
    if (!window.PublicKeyCredential || !navigator.credentials || !window.fetch) {
      if (unsupported) unsupported.hidden = false;
      if (button) button.disabled = true;
      return;
    }
    function fail(message) {
      if (button) button.disabled = false;
      if (error) {
        error.textContent = message;
        error.hidden = false;
      }
    }
    // Ask the server for a ceremony: its options and token (null when the page must go elsewhere).
    function options() {
      var csrf = form.elements._csrf_token ? form.elements._csrf_token.value : '';
      return fetch(form.getAttribute('data-options'), {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'X-CSRF-Token': csrf, Accept: 'application/json' },
      }).then(function (res) {
        var json = (res.headers.get('content-type') || '').indexOf('application/json') === 0;
        if (res.redirected || !json) {
          // Sudo mode ran out (the password confirmation page), or the sign-in timed out: go there.
          window.location.href = form.getAttribute('data-reauth') || window.location.href;
          return null;
        }
        return res.json().then(function (body) {
          if (!res.ok) throw new Error(body.error || 'The server could not start the passkey request.');
          return body;
        });
      });
    }
    var stopConditional = form.hasAttribute('data-passkey-autofill')
      ? conditional(form, function () {
        // A refusal here (the client's limit) is not shown: the button still works.
        return options().catch(function () { return null; });
      })
      : function () {};
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      stopConditional();
      if (error) error.hidden = true;
      if (button) button.disabled = true;
      options().then(function (ceremony) {
        if (!ceremony) return null;
        var pk = ceremony.options.publicKey;
        var call = kind === 'register'
          ? navigator.credentials.create({ publicKey: creationOptions(pk) })
          : navigator.credentials.get({ publicKey: requestOptions(pk) });
        return call.then(function (cred) {
          if (!cred) throw new Error('No passkey was chosen.');
          form.elements.token.value = ceremony.token;
          form.elements.credential.value = credentialJson(cred);
          form.submit();
          return null;
        });
      }).catch(function (e) {
        var cancelled = e && (e.name === 'NotAllowedError' || e.name === 'AbortError');
        fail(cancelled
          ? 'The passkey request was cancelled or timed out. Try again.'
          : e && e.name === 'InvalidStateError'
            ? 'This device already has a passkey for your account.'
            : e && e.name === 'SecurityError'
              // The page's host is not the site's relying party (an IP address: use localhost).
              ? 'Passkeys work only at this site\'s own address (in development: http://localhost, not an IP address).'
              : (e && e.message) || 'The passkey request failed. Try again.');
      });
    });
  }

  var forms = document.querySelectorAll('form[data-passkey]');
  for (var i = 0; i < forms.length; i++) setup(forms[i]);
})();
