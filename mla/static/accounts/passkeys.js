// After a passkey is registered, reload the security page so that it lists the new passkey.
(function () {
  "use strict";
  document.addEventListener("otp_webauthn.register_complete", function () {
    window.location.reload();
  });
})();
