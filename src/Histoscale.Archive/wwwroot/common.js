// Shared by the archive's pages: the bearer token (first from ?token=, then kept in session storage and dropped
// from the URL), API calls with it, and a small login form when there is none.
"use strict";
const HS = (() => {
  const key = "histoscale.token";
  const url = new URL(window.location.href);
  if (url.searchParams.has("token")) {
    sessionStorage.setItem(key, url.searchParams.get("token"));
    url.searchParams.delete("token");
    history.replaceState(null, "", url.pathname + url.search + url.hash);
  }
  const token = () => sessionStorage.getItem(key);
  const headers = (extra) => Object.assign(token() ? { Authorization: "Bearer " + token() } : {}, extra || {});

  async function api(path, options) {
    options = options || {};
    const response = await fetch("/api/v1" + path, Object.assign({}, options, { headers: headers(options.headers) }));
    if (response.status === 401) {
      showLogin("This server needs a token" + (token() ? " (the one given was refused)" : "") + ".");
      throw new Error("unauthorized");
    }
    if (!response.ok) {
      let message = response.status + " " + response.statusText;
      try { message = (await response.json()).error || message; } catch (e) { /* not JSON */ }
      throw new Error(message);
    }
    return response;
  }

  async function json(path, options) { return (await api(path, options)).json(); }

  async function imageUrl(path) { return URL.createObjectURL(await (await api(path)).blob()); }

  function showLogin(reason) {
    if (document.getElementById("login")) return;
    const form = document.createElement("form");
    form.id = "login";
    form.innerHTML = "<p></p><input name=token type=password placeholder='access token' autocomplete=off size=48> <button>Sign in</button>";
    form.querySelector("p").textContent = reason;
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      sessionStorage.setItem(key, form.token.value.trim());
      window.location.reload();
    });
    document.body.prepend(form);
  }

  return { api, json, imageUrl, headers, token, showLogin };
})();
