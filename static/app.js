// The portal's one small script. Every page works without it; with it, the domain name
// is checked as the agent leaves the field, Copy buttons copy their text and Use these details
// fills a form in.
'use strict';

// The longest mailto: address offered; the server uses the same limit.
const MAILTO_LIMIT = 2000;

// A mailto: address from the fields an "Open in email" link names.
const countText = (n) => Number(n).toLocaleString('en-US');

// Writes the refresh's progress `p` (the JSON of /customers/refresh/progress) into `box`.
function showProgress(box, p) {
  const bar = document.getElementById('refresh-progress');
  const text = document.getElementById('refresh-progress-text');
  const onPage = box.hasAttribute('data-progress-page');
  if (p.total > 0) {
    bar.max = p.total;
    bar.value = p.done;
  }
  if (p.listing) {
    text.textContent = onPage ? `Listing your customers: ${countText(p.total)} so far` : `listing them, ${countText(p.total)} so far`;
  } else {
    const percent = p.total > 0 ? Math.floor((p.done * 100) / p.total) : 0;
    text.textContent = onPage
      ? `${countText(p.done)} of ${countText(p.total)} customers done (${percent} %)`
      : `${countText(p.done)} of ${countText(p.total)} done`;
  }
  const set = (id, value) => { const el = document.getElementById(id); if (el && value != null) el.textContent = value; };
  set('refresh-left', p.left);
  set('refresh-phase', p.phase);
  set('refresh-failed', countText(p.failed));
  const stalled = document.getElementById('refresh-stalled');
  if (stalled) stalled.hidden = !p.stalled;
}

// Says once, in the box and to screen readers, why the bar stopped moving.
function endProgress(box, sentence, linkText) {
  const note = document.getElementById('refresh-note');
  if (note) {
    note.textContent = `${sentence} `;
    const link = document.createElement('a');
    link.href = window.location.pathname + window.location.search;
    link.textContent = linkText;
    note.appendChild(link);
  }
  const announce = document.getElementById('refresh-announce');
  if (announce) announce.textContent = sentence;
}

function followRefresh(box) {
  const poll = async () => {
    let answer;
    try {
      // A redirect here means the session ended: following it would start a sign-in.
      answer = await fetch(box.dataset.progressUrl, {
        headers: { Accept: 'application/json' }, credentials: 'same-origin', redirect: 'manual',
      });
    } catch (e) {
      window.setTimeout(poll, 2000); // the network; the next poll tries again
      return;
    }
    if (answer.type === 'opaqueredirect' || answer.status === 401 || answer.status === 403) {
      endProgress(box, 'Your session has ended, so the progress is no longer shown.', 'Sign in again');
      return;
    }
    if (!answer.ok) {
      window.setTimeout(poll, 5000);
      return;
    }
    const p = await answer.json();
    showProgress(box, p);
    if (!p.running) {
      const how = p.error ? 'The refresh stopped before the end.' : 'The refresh has finished.';
      endProgress(box, how, box.hasAttribute('data-progress-page') ? 'Show its summary' : 'Reload the list to see the new statuses');
      return;
    }
    window.setTimeout(poll, 2000);
  };
  window.setTimeout(poll, 2000);
}

function mailtoOf(link) {
  const value = (id, fallback) => {
    const field = id && document.getElementById(id);
    return field ? field.value : fallback;
  };
  const to = value(link.dataset.to, link.dataset.mailto || '');
  const subject = value(link.dataset.subject, '');
  const body = value(link.dataset.body, '').replace(/\r\n/g, '\n');
  return `mailto:${encodeURIComponent(to)}?subject=${encodeURIComponent(subject)}&body=${encodeURIComponent(body)}`;
}

// Tells the portal what was done with an invitation (copied, opened in the mail program),
// with the text as it is on the page; the form carries the CSRF token.
function recordUse(element, action) {
  const form = element.closest('form[data-record-url]');
  if (!form) return;
  const data = new URLSearchParams(new FormData(form));
  data.set('action', action);
  fetch(form.dataset.recordUrl, { method: 'POST', body: data, credentials: 'same-origin', keepalive: true }).catch(() => {});
}

// Back to a list page (from the browser's page cache, or with its form filled in again):
// its filter form shows the view the page lists, as the server wrote it, not what was
// chosen on it before leaving.
window.addEventListener('pageshow', (event) => {
  const navigation = performance.getEntriesByType('navigation')[0];
  if (event.persisted || (navigation && navigation.type === 'back_forward')) {
    document.querySelectorAll('form.filters').forEach((f) => f.reset());
  }
  document.querySelectorAll('form.refresh').forEach(refreshFormReady);
});

// Refresh list may wait some seconds for a short refresh to end: the button says so, and
// a second press sends nothing more.
function refreshFormReady(form) {
  const button = form.querySelector('button[type="submit"]');
  delete form.dataset.sent;
  if (button && button.dataset.label) {
    button.textContent = button.dataset.label;
    button.removeAttribute('aria-disabled');
  }
}

function refreshFormSent(form, event) {
  if (form.dataset.sent) {
    event.preventDefault();
    return;
  }
  form.dataset.sent = '1';
  const button = form.querySelector('button[type="submit"]');
  if (button) {
    button.dataset.label = button.textContent;
    button.textContent = 'Starting the refresh…';
    button.setAttribute('aria-disabled', 'true');
  }
}

document.addEventListener('DOMContentLoaded', () => {
  // After a failed submit, the summary of what to correct gets the focus; after a
  // submit that made something to take away now (a new API key), what it made does.
  const summary = document.querySelector('.error-summary, [data-focus-on-load]');
  if (summary) summary.focus();

  // Copy buttons: the text of `data-copy`, after "Subject: …" when `data-copy-subject`
  // names the subject field; the answer goes to `data-copy-status` (or #copy-status).
  document.querySelectorAll('[data-copy]').forEach((button) => {
    button.addEventListener('click', async () => {
      const source = document.getElementById(button.dataset.copy);
      const subject = button.dataset.copySubject && document.getElementById(button.dataset.copySubject);
      const status = document.getElementById(button.dataset.copyStatus || 'copy-status');
      const text = source.value !== undefined ? source.value : source.textContent;
      try {
        await navigator.clipboard.writeText(subject ? `Subject: ${subject.value}\n\n${text}` : text);
        if (status) status.textContent = 'Copied.';
        if (button.dataset.record) recordUse(button, button.dataset.record);
      } catch (e) {
        source.focus();
        if (source.select) source.select();
        else window.getSelection().selectAllChildren(source);
        if (status) status.textContent = 'Press Ctrl+C (or Cmd+C) to copy the selected text.';
      }
    });
  });

  // A text box marked data-grow shows its whole text as it is edited.
  document.querySelectorAll('textarea[data-grow]').forEach((box) => {
    const grow = () => {
      box.style.height = 'auto';
      box.style.height = `${box.scrollHeight + 4}px`;
    };
    box.addEventListener('input', grow);
    window.addEventListener('resize', grow);
    grow();
  });

  // Add customer: the acceptance date is there only for "The customer has accepted".
  const acceptance = document.getElementById('acceptance-date');
  const attest = document.getElementById('agreement_attest');
  if (acceptance && attest) {
    const show = () => {
      acceptance.hidden = !attest.checked;
      acceptance.querySelectorAll('input').forEach((i) => { i.disabled = !attest.checked; });
    };
    document.querySelectorAll('input[name="agreement"]').forEach((r) => r.addEventListener('change', show));
    show();
  }

  // Add customer: the country says whether a registration number is required, and gives
  // its language unless the agent chose one.
  const country = document.getElementById('country');
  const regLabel = document.querySelector('label[for="registration_number"]');
  const languageDefault = document.getElementById('culture-default');
  if (country && regLabel && languageDefault) {
    country.addEventListener('change', () => {
      const chosen = country.options[country.selectedIndex];
      regLabel.textContent = `Organization registration number (${chosen.dataset.registration} in ${chosen.textContent})`;
      languageDefault.textContent = `As the country/region: ${chosen.dataset.language}`;
    });
  }

  // The progress of a refresh of all customers, updated in place until it is done. The
  // end and an ended session are announced once; nothing reloads the page under the user.
  const box = document.querySelector('[data-progress-url]');
  if (box) followRefresh(box);
  document.querySelectorAll('form.refresh').forEach((form) => {
    form.addEventListener('submit', (event) => refreshFormSent(form, event));
  });

  // "Open in email" takes the recipient, subject and body as edited on the page.
  document.querySelectorAll('a[data-mailto]').forEach((link) => {
    link.addEventListener('click', () => {
      link.href = mailtoOf(link);
      if (link.dataset.record) recordUse(link, link.dataset.record);
    });
  });

  // Buttons that need the script are shown only when it runs.
  document.querySelectorAll('[data-needs-script]').forEach((el) => { el.hidden = false; });

  // The invitation editor warns as soon as the link is removed or changed, and offers
  // "Open in email" only while the email fits in a mailto: link.
  document.querySelectorAll('form[data-invitation-editor]').forEach((form) => {
    const body = form.querySelector('textarea[name="body"]');
    const warning = document.getElementById('invitation-link-warning');
    const link = document.getElementById('invitation-mailto');
    const tooLong = document.getElementById('invitation-too-long');
    const check = () => {
      if (warning) warning.hidden = body.value.includes(form.dataset.link);
      if (link && tooLong) {
        const address = mailtoOf(link);
        const fits = address.length <= MAILTO_LIMIT;
        if (fits) link.href = address;
        link.hidden = !fits;
        tooLong.hidden = fits;
      }
    };
    form.addEventListener('input', check);
  });

  // "Use these details" on Edit agreement fills the person in without reloading the page
  // (the link reloads the form filled when the script does not run).
  document.querySelectorAll('a[data-use-details]').forEach((link) => {
    link.addEventListener('click', (event) => {
      event.preventDefault();
      ['first_name', 'last_name', 'email', 'phone'].forEach((name) => {
        const input = document.getElementById(name);
        if (input) input.value = link.getAttribute(`data-${name}`) || '';
      });
      const status = document.getElementById('use-details-status');
      if (status) status.textContent = 'Filled in from the latest attestation. Change what is no longer current: the same four details again would be refused.';
      const first = document.getElementById('first_name');
      if (first) first.focus();
    });
  });

  // The domain's one message (#…-message): the server's after Next: Review, replaced by
  // this check's answer as the agent leaves the field.
  document.querySelectorAll('[data-domain-check]').forEach((input) => {
    const message = document.getElementById(`${input.id}-message`);
    const say = (text, wrong) => {
      message.textContent = text;
      message.className = wrong ? 'field-error' : 'hint';
      if (wrong) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
      input.closest('.field').classList.toggle('invalid', wrong);
    };
    input.addEventListener('blur', async () => {
      const prefix = input.value.trim();
      if (!prefix || !message) return;
      message.textContent = 'Checking…';
      try {
        const url = `${input.dataset.domainCheck}?prefix=${encodeURIComponent(prefix)}`;
        const answer = await fetch(url, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
        const result = await answer.json();
        say(result.message, result.available === false);
      } catch (e) {
        say('The domain could not be checked now; it is checked again when you continue.', false);
      }
    });
  });
});
