// The passkey ceremonies of the demo's pages: every <form data-passkey="register|sign-in|second-step">.
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
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      if (error) error.hidden = true;
      if (button) button.disabled = true;
      var csrf = form.elements._csrf_token ? form.elements._csrf_token.value : '';
      fetch(form.getAttribute('data-options'), {
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
      }).then(function (ceremony) {
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
