// The portal's one small script. Every page works without it; with it, the domain name
// is checked as the agent leaves the field, Copy buttons copy their text and Use these details
// fills a form in.
'use strict';

document.addEventListener('DOMContentLoaded', () => {
  // After a failed submit, the summary of what to correct gets the focus.
  const summary = document.querySelector('.error-summary');
  if (summary) summary.focus();

  document.querySelectorAll('[data-copy]').forEach((button) => {
    button.addEventListener('click', async () => {
      const source = document.getElementById(button.dataset.copy);
      const status = document.getElementById('copy-status');
      try {
        await navigator.clipboard.writeText(source.value || source.textContent);
        if (status) status.textContent = 'Copied.';
      } catch (e) {
        source.focus();
        source.select();
        if (status) status.textContent = 'Press Ctrl+C (or Cmd+C) to copy the selected text.';
      }
    });
  });

  // The progress of a refresh of all customers, until it is done; then the page reloads.
  const box = document.querySelector('[data-progress-url]');
  if (box) {
    const bar = document.getElementById('refresh-progress');
    const text = document.getElementById('refresh-progress-text');
    const poll = async () => {
      try {
        const answer = await fetch(box.dataset.progressUrl, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
        const p = await answer.json();
        if (p.total > 0) {
          bar.max = p.total;
          bar.value = p.done;
          text.textContent = `${p.done} of ${p.total}`;
        }
        if (!p.running) {
          window.location.reload();
          return;
        }
      } catch (e) {
        // The next poll tries again.
      }
      window.setTimeout(poll, 2000);
    };
    window.setTimeout(poll, 2000);
  }

  // "Open in email" takes the subject and body as edited on the page.
  document.querySelectorAll('a[data-mailto]').forEach((link) => {
    link.addEventListener('click', () => {
      const subject = document.getElementById(link.dataset.subject);
      const body = document.getElementById(link.dataset.body);
      if (!subject || !body) return;
      link.href = `mailto:${encodeURIComponent(link.dataset.mailto)}?subject=${encodeURIComponent(subject.value)}&body=${encodeURIComponent(body.value)}`;
    });
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

  document.querySelectorAll('[data-domain-check]').forEach((input) => {
    const status = document.getElementById(`${input.id}-status`);
    input.addEventListener('blur', async () => {
      const prefix = input.value.trim();
      if (!prefix || !status) return;
      status.textContent = 'Checking…';
      try {
        const url = `${input.dataset.domainCheck}?prefix=${encodeURIComponent(prefix)}`;
        const answer = await fetch(url, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
        const result = await answer.json();
        status.textContent = result.message;
      } catch (e) {
        status.textContent = 'The domain could not be checked now; it is checked again when you continue.';
      }
    });
  });
});
