// Our shipping address (API.md) → Shopify's MailingAddressInput.
import type { ShippingAddress } from '../fulfillment.types.js';

export function toShopifyAddress(address: ShippingAddress): Record<string, string> {
  const name = address.name.trim().replace(/\s+/g, ' ');
  const cut = name.lastIndexOf(' ');
  const mailing: Record<string, string> = {
    ...(cut > 0 ? { firstName: name.slice(0, cut), lastName: name.slice(cut + 1) } : { lastName: name }),
    address1: address.address1,
    city: address.city,
    zip: address.zip,
    countryCode: address.country.toUpperCase(),
  };
  if (address.address2) mailing.address2 = address.address2;
  if (address.province) mailing.provinceCode = address.province;
  if (address.phone) mailing.phone = address.phone;
  return mailing;
}
