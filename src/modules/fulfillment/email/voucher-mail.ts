// The voucher mail: a plain-text part and an HTML part with the same content.

const escapeHtml = (value: string) =>
  value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

export function voucherMail(input: { itemName: string; codes: string[]; playerName: string | null; orderId: string }) {
  const greeting = input.playerName ? `Hi ${input.playerName},` : 'Hi,';
  const plural = input.codes.length > 1;
  const subject = `Your ${input.itemName} ${plural ? 'codes' : 'code'}`;
  const text = [
    greeting,
    '',
    `Thanks for your purchase of ${input.itemName}. Your ${plural ? 'codes are' : 'code is'}:`,
    '',
    ...input.codes.map((code) => `    ${code}`),
    '',
    `Order ${input.orderId}. You can also find ${plural ? 'them' : 'it'} in your purchase history.`,
    '',
    '— BattleBucks Store',
  ].join('\n');
  const html = `<!doctype html><html><body style="font-family:sans-serif">
<p>${escapeHtml(greeting)}</p>
<p>Thanks for your purchase of <strong>${escapeHtml(input.itemName)}</strong>. Your ${plural ? 'codes are' : 'code is'}:</p>
<ul>${input.codes.map((code) => `<li><code style="font-size:1.2em">${escapeHtml(code)}</code></li>`).join('')}</ul>
<p>Order ${escapeHtml(input.orderId)}. You can also find ${plural ? 'them' : 'it'} in your purchase history.</p>
<p>— BattleBucks Store</p>
</body></html>`;
  return { subject, text, html };
}
