// The phone page without reloading: forms are posted with fetch, and a long poll on
// /phone/updates brings the bot's answers (and edits) as they happen. The staff sign-ins page
// keeps its codes current. Without JavaScript both pages still work with plain forms and links.
(function () {
  "use strict";

  const LONG_POLL_SECONDS = 25;

  function sleep(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  function phonePage(phone) {
    const user = phone.dataset.user;
    const list = document.getElementById("messages");
    const keyboard = document.getElementById("keyboard");
    const notice = document.getElementById("notice");
    const text = document.getElementById("text");
    let etag = phone.dataset.etag;
    let keyboardHtml = keyboard.innerHTML;
    let controller = null;
    let stickToBottom = true;

    function focusComposer() {
      if (text) { text.focus(); }
    }

    function lostFocus() {
      return !document.activeElement || document.activeElement === document.body;
    }

    function applyMessages(html) {
      const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
      const focused = document.activeElement;
      let focusLost = false;
      const template = document.createElement("template");
      template.innerHTML = html;
      const fresh = Array.from(template.content.children);
      const wanted = new Set(fresh.map(function (item) { return item.id; }));
      Array.from(list.children).forEach(function (item) {
        if (!wanted.has(item.id)) {
          focusLost = focusLost || item.contains(focused);
          item.remove();
        }
      });
      let previous = null;
      fresh.forEach(function (item) {
        const current = Array.from(list.children).find(function (old) { return old.id === item.id; });
        if (current && current.outerHTML === item.outerHTML) {
          previous = current;
          return;
        }
        if (current) {
          focusLost = focusLost || current.contains(focused);
          current.replaceWith(item);
        } else if (previous) {
          previous.after(item);
        } else {
          list.prepend(item);
        }
        previous = item;
      });
      if (nearBottom || stickToBottom) {
        list.scrollTop = list.scrollHeight;
        stickToBottom = false;
      }
      return focusLost;
    }

    function apply(data) {
      etag = data.etag;
      let focusLost = applyMessages(data.messages);
      if (data.keyboard !== keyboardHtml) {
        focusLost = focusLost || keyboard.contains(document.activeElement);
        keyboard.innerHTML = data.keyboard;
        keyboardHtml = data.keyboard;
      }
      if (notice.textContent !== data.notice) { notice.textContent = data.notice; }
      if (focusLost || lostFocus()) { focusComposer(); }
    }

    async function refresh(wait, signal) {
      const query = new URLSearchParams({ as: user, seen: etag, wait: String(wait) });
      const answer = await fetch("/phone/updates?" + query.toString(), {
        headers: { Accept: "application/json" },
        signal: signal,
      });
      if (!answer.ok) { throw new Error("updates answered " + answer.status); }
      const data = await answer.json();
      if (data.etag !== etag) { apply(data); }
    }

    async function poll() {
      let failures = 0;
      for (;;) {
        controller = new AbortController();
        try {
          await refresh(LONG_POLL_SECONDS, controller.signal);
          failures = 0;
        } catch (error) {
          if (error.name !== "AbortError") {
            failures += 1;
            notice.textContent = "The demo is not answering. Is it still running?";
            await sleep(Math.min(10000, 1000 * failures));
          }
        }
      }
    }

    function poke() {
      if (controller) { controller.abort(); }
    }

    document.addEventListener("submit", async function (event) {
      const form = event.target;
      if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-live")) { return; }
      event.preventDefault();
      const body = new FormData(form);
      const button = form.querySelector("button[type=submit]");
      if (button) { button.disabled = true; }
      form.setAttribute("aria-busy", "true");
      try {
        const answer = await fetch(form.action, {
          method: "POST",
          body: body,
          headers: { Accept: "application/json" },
        });
        if (!answer.ok) {
          notice.textContent = await answer.text() || "That did not work (" + answer.status + ").";
        } else {
          if (form.hasAttribute("data-clear")) { form.reset(); }
          const panel = form.closest(".start-panel");
          if (panel) {
            panel.remove();
            history.replaceState(null, "", "/phone?as=" + encodeURIComponent(user));
          }
        }
      } catch (error) {
        notice.textContent = "The demo is not answering. Is it still running?";
      } finally {
        if (button) { button.disabled = false; }
        form.removeAttribute("aria-busy");
      }
      stickToBottom = true;
      if (lostFocus() || !document.contains(form)) { focusComposer(); }
      poke();
    });

    list.scrollTop = list.scrollHeight;
    poll();
  }

  function staffPage(cells) {
    function show(cell, item) {
      cell.textContent = "";
      if (!item.code) {
        cell.textContent = "Set up on first sign-in";
        return;
      }
      const code = document.createElement("code");
      code.className = "code";
      code.textContent = item.code;
      const left = document.createElement("span");
      left.className = "left";
      left.textContent = item.used
        ? "used: the next one comes in " + item.seconds_left + " seconds"
        : "for " + item.seconds_left + " more seconds";
      cell.append(code, " ", left);
    }

    async function refresh() {
      try {
        const answer = await fetch("/staff/codes", { headers: { Accept: "application/json" } });
        if (!answer.ok) { return; }
        const items = await answer.json();
        items.forEach(function (item) {
          cells.forEach(function (cell) {
            if (cell.dataset.email === item.email) { show(cell, item); }
          });
        });
      } catch (error) {
        // The demo has stopped; the codes on screen stay as they were.
      }
    }

    setInterval(refresh, 1000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    const phone = document.getElementById("phone");
    if (phone) { phonePage(phone); }
    const cells = Array.from(document.querySelectorAll("td.totp[data-email]"));
    if (cells.length) { staffPage(cells); }
  });
})();
