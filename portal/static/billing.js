// The portal's card pages (pay an invoice, top up the wallet): Stripe.js takes the card in its own element
// (the number never reaches our servers), saves it with a SetupIntent, and our API charges that pm_… once.
(function () {
  "use strict";
  const form = document.querySelector("form[data-billing]");
  if (!form || typeof Stripe === "undefined") return;
  const d = form.dataset;
  const stripe = Stripe(d.publishableKey);
  const card = stripe.elements().create("card");
  card.mount("#card");
  const status = document.getElementById("status");
  const button = form.querySelector("button[type=submit]");

  function show(text, done) {
    status.textContent = text;
    button.disabled = Boolean(done);
  }

  function newKey() {
    return window.crypto && crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random();
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": d.csrf, "Idempotency-Key": newKey() },
      body: JSON.stringify(body || {}),
    });
    return [response.status, await response.json().catch(() => ({}))];
  }

  // "12,5" → 1250 for a currency of 2 decimals: in strings, never through floating point.
  function toMinor(typed, exponent) {
    const [units, fraction = ""] = typed.trim().replace(",", ".").split(".");
    if (!/^\d+$/.test(units) || !/^\d*$/.test(fraction) || fraction.length > exponent) return null;
    return parseInt(units + fraction.padEnd(exponent, "0"), 10);
  }

  function declined(code) {
    return d.declined.replace("{code}", code || "card_declined");
  }

  async function savedCard() {
    const [code, setup] = await post("/v1/me/payment-methods/setup-intents");
    if (code !== 201) throw new Error(setup.detail || d.failed);
    const result = await stripe.confirmCardSetup(setup.client_secret, { payment_method: { card: card } });
    if (result.error) return { error: result.error };
    return { pm: result.setupIntent.payment_method };
  }

  async function payInvoice() {
    const [code, payment] = await post(d.payUrl, { method: "card" });
    if (code !== 201) return show(payment.detail || d.failed);
    const saved = await savedCard();
    if (saved.error) return show(declined(saved.error.decline_code || saved.error.code));
    const [, done] = await post("/v1/me/payments/" + payment.payment_id + "/confirmations", {
      payment_method_token: saved.pm,
    });
    if (done.status === "succeeded") return show(d.succeeded, true);
    return show(done.status === "failed" ? declined(done.decline_code) : done.detail || d.failed);
  }

  async function topUp() {
    const amount = toMinor(form.elements.amount.value, Number(d.exponent));
    if (!amount) return show(d.failed);
    const saved = await savedCard();
    if (saved.error) return show(declined(saved.error.decline_code || saved.error.code));
    const [code, body] = await post(d.topUpUrl, { amount_minor: amount, payment_method_token: saved.pm });
    if (code === 201) {
      const balance = body.wallet.balance_minor / 10 ** Number(d.exponent);
      return show(d.topUpDone.replace("{amount}", balance.toFixed(Number(d.exponent))).replace("{currency}", d.currency), true);
    }
    return show(body.code === "top_up_declined" ? d.topUpDeclined : body.detail || d.failed);
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    show(d.working);
    button.disabled = true;
    try {
      await (d.kind === "invoice" ? payInvoice() : topUp());
    } catch (err) {
      show(err && err.message ? err.message : d.failed);
    }
  });
})();
