import { Type, type Static } from '@sinclair/typebox';
import type { ShippingAddress } from '../fulfillment/index.js';
import { Cursor, DisplayText, Fields, Limit, Nullable, Timestamp, Uuid } from '../../platform/http/schemas.js';

const DeliveryTypeSchema = Type.Union(['inventory', 'email', 'shopify', 'functional'].map((t) => Type.Literal(t)));

// Every officially assigned ISO 3166-1 alpha-2 code (249), plus XK (Kosovo: user-assigned, but a country Shopify
// ships to). Two capital letters are not enough: `XX` or `UK` would be paid for and then refused by Shopify, leaving
// the line dead-lettered with the gems taken.
export const COUNTRY_CODES: readonly string[] = [
  'AD', 'AE', 'AF', 'AG', 'AI', 'AL', 'AM', 'AO', 'AQ', 'AR', 'AS', 'AT', 'AU', 'AW', 'AX', 'AZ', 'BA', 'BB', 'BD', 'BE',
  'BF', 'BG', 'BH', 'BI', 'BJ', 'BL', 'BM', 'BN', 'BO', 'BQ', 'BR', 'BS', 'BT', 'BV', 'BW', 'BY', 'BZ', 'CA', 'CC', 'CD',
  'CF', 'CG', 'CH', 'CI', 'CK', 'CL', 'CM', 'CN', 'CO', 'CR', 'CU', 'CV', 'CW', 'CX', 'CY', 'CZ', 'DE', 'DJ', 'DK', 'DM',
  'DO', 'DZ', 'EC', 'EE', 'EG', 'EH', 'ER', 'ES', 'ET', 'FI', 'FJ', 'FK', 'FM', 'FO', 'FR', 'GA', 'GB', 'GD', 'GE', 'GF',
  'GG', 'GH', 'GI', 'GL', 'GM', 'GN', 'GP', 'GQ', 'GR', 'GS', 'GT', 'GU', 'GW', 'GY', 'HK', 'HM', 'HN', 'HR', 'HT', 'HU',
  'ID', 'IE', 'IL', 'IM', 'IN', 'IO', 'IQ', 'IR', 'IS', 'IT', 'JE', 'JM', 'JO', 'JP', 'KE', 'KG', 'KH', 'KI', 'KM', 'KN',
  'KP', 'KR', 'KW', 'KY', 'KZ', 'LA', 'LB', 'LC', 'LI', 'LK', 'LR', 'LS', 'LT', 'LU', 'LV', 'LY', 'MA', 'MC', 'MD', 'ME',
  'MF', 'MG', 'MH', 'MK', 'ML', 'MM', 'MN', 'MO', 'MP', 'MQ', 'MR', 'MS', 'MT', 'MU', 'MV', 'MW', 'MX', 'MY', 'MZ', 'NA',
  'NC', 'NE', 'NF', 'NG', 'NI', 'NL', 'NO', 'NP', 'NR', 'NU', 'NZ', 'OM', 'PA', 'PE', 'PF', 'PG', 'PH', 'PK', 'PL', 'PM',
  'PN', 'PR', 'PS', 'PT', 'PW', 'PY', 'QA', 'RE', 'RO', 'RS', 'RU', 'RW', 'SA', 'SB', 'SC', 'SD', 'SE', 'SG', 'SH', 'SI',
  'SJ', 'SK', 'SL', 'SM', 'SN', 'SO', 'SR', 'SS', 'ST', 'SV', 'SX', 'SY', 'SZ', 'TC', 'TD', 'TF', 'TG', 'TH', 'TJ', 'TK',
  'TL', 'TM', 'TN', 'TO', 'TR', 'TT', 'TV', 'TW', 'TZ', 'UA', 'UG', 'UM', 'US', 'UY', 'UZ', 'VA', 'VC', 'VE', 'VG', 'VI',
  'VN', 'VU', 'WF', 'WS', 'YE', 'YT', 'ZA', 'ZM', 'ZW',
  'XK',
];

// Address text: no control character (a NUL cannot be stored, a line break or tab does not belong on a label) and no
// lone surrogate (it cannot be stored as UTF-8). Refused here, before the key and the wallet are looked at; otherwise
// the purchase ran, was judged on funds or stock first, and only the order's insert refused the text.
const ADDRESS_TEXT = '^[^\\p{Cc}\\p{Cs}]*$';
// A required line: that, and at least one visible character (a parcel cannot go to a blank name, street, city or postcode).
const AddressLine = (maxLength: number) => Type.String({ minLength: 1, maxLength, pattern: '^(?=[\\s\\S]*[^\\s\\p{Cc}\\p{Cf}])[^\\p{Cc}\\p{Cs}]*$' });

export const ShippingAddressSchema = Type.Object(
  {
    name: AddressLine(200),
    address1: AddressLine(200),
    // The optional lines may be null (address forms and Shopify's own addresses send them so): null = absent.
    address2: Type.Optional(Nullable(Type.String({ maxLength: 200, pattern: ADDRESS_TEXT }))),
    city: AddressLine(100),
    province: Type.Optional(Nullable(Type.String({ maxLength: 100, pattern: ADDRESS_TEXT }))),
    zip: AddressLine(20),
    country: Type.String({ enum: COUNTRY_CODES, description: 'ISO 3166-1 alpha-2, upper case (an assigned code, or XK)' }),
    phone: Type.Optional(Nullable(Type.String({ maxLength: 40, pattern: '^[0-9+()./ -]*$' }))),
  },
  { additionalProperties: false, $id: 'ShippingAddress' },
);

/** The address as the order stores it and fulfillment ships it: optional lines sent as null are left out. */
export function presentAddressLines(address: Static<typeof ShippingAddressSchema>): ShippingAddress {
  const { address2, province, phone, ...required } = address;
  return {
    ...required,
    ...(address2 != null ? { address2 } : {}),
    ...(province != null ? { province } : {}),
    ...(phone != null ? { phone } : {}),
  };
}

export const PurchaseBody = Type.Object(
  {
    listingId: Uuid,
    quantity: Type.Integer({ minimum: 1, maximum: 100, default: 1 }),
    expectedPrice: Type.Optional(Type.Integer({ minimum: 0, description: 'the price the buyer saw; another price → 409 price_changed' })),
    shippingAddress: Type.Optional(Type.Ref(ShippingAddressSchema)),
  },
  { additionalProperties: false },
);

export const Purchase = Type.Object(
  {
    id: Uuid,
    status: Type.String(),
    listingId: Uuid,
    quantity: Type.Integer(),
    unitPrice: Type.Integer(),
    totalPrice: Type.Integer(),
    balanceAfter: Type.Integer(),
    lines: Type.Array(
      Type.Object({
        id: Uuid,
        itemId: Uuid,
        quantity: Type.Integer(),
        deliveryType: DeliveryTypeSchema,
        fulfillment: Type.Object({ id: Uuid, status: Type.String() }),
      }),
    ),
    createdAt: Timestamp,
  },
  { $id: 'Purchase' },
);

const OrderFulfillment = Type.Object({
  id: Uuid,
  status: Type.String({ description: 'pending | processing | shipped | delivered | failed | cancelled' }),
  trackingNumber: Nullable(Type.String()),
  trackingUrl: Nullable(Type.String()),
  trackingCompany: Nullable(Type.String()),
  events: Type.Optional(Type.Array(Type.Object({ status: Type.String(), at: Timestamp, detail: Nullable(Type.String()) }))),
  error: Type.Optional(Nullable(Type.String({ description: 'why delivery stopped, when the status is failed (order detail only)' }))),
  code: Type.Optional(Nullable(Type.String({ description: 'voucher code (email lines, order detail only)' }))),
  codes: Type.Optional(Type.Array(Type.String(), { description: 'every voucher code of the line (quantity > 1)' })),
});

const orderFields = {
  id: Uuid,
  status: Type.Union([Type.Literal('completed'), Type.Literal('refunded')]),
  listingId: Uuid,
  quantity: Type.Integer(),
  unitPrice: Type.Integer(),
  totalPrice: Type.Integer(),
  createdAt: Timestamp,
  refundedAt: Nullable(Timestamp),
  lines: Type.Array(
    Type.Object({
      id: Uuid,
      itemId: Uuid,
      name: Type.String(),
      quantity: Type.Integer(),
      deliveryType: DeliveryTypeSchema,
      fulfillment: Nullable(OrderFulfillment),
      code: Type.Optional(Nullable(Type.String({ description: 'voucher code (email lines, order detail only)' }))),
      codes: Type.Optional(Type.Array(Type.String(), { description: 'every voucher code of the line (quantity > 1)' })),
    }),
  ),
};

export const Order = Type.Object(orderFields, { $id: 'Order' });
/**
 * One order of the caller. Each line carries its fulfillment's history; the order also carries the history of
 * all its lines in time order (`events`, each naming its line) and the tracking of its parcel, so a one-line order
 * reads like one delivery.
 */
export const OrderDetail = Type.Object(
  {
    ...orderFields,
    events: Type.Array(Type.Object({ status: Type.String(), at: Timestamp, detail: Nullable(Type.String()), lineId: Uuid, fulfillmentId: Uuid })),
    trackingNumber: Nullable(Type.String({ description: 'the first shipped line\'s tracking number' })),
    trackingUrl: Nullable(Type.String()),
    trackingCompany: Nullable(Type.String()),
  },
  { $id: 'OrderDetail' },
);
export const AdminOrder = Type.Object({ ...orderFields, userId: Uuid }, { $id: 'AdminOrder' });
export const RefundedOrder = Type.Object({ ...orderFields, userId: Uuid, refundedAmount: Type.Integer() }, { $id: 'RefundedOrder' });

export const ORDER_FIELDS = Object.keys(orderFields);
export const ADMIN_ORDER_FIELDS = [...ORDER_FIELDS, 'userId'];
export const OrdersQuery = Type.Object({ limit: Limit, cursor: Type.Optional(Cursor), fields: Type.Optional(Fields) }, { additionalProperties: false });
export const AdminOrdersQuery = Type.Object(
  {
    status: Type.Optional(Type.Union([Type.Literal('completed'), Type.Literal('refunded')])),
    limit: Limit,
    cursor: Type.Optional(Cursor),
    fields: Type.Optional(Fields),
  },
  { additionalProperties: false },
);
// The reason goes to the ledger memo and the player's history: at least one visible character, and no lone surrogate,
// which text would store as U+FFFD (the reason read back would not be the one sent).
export const RefundBody = Type.Object(
  { reason: Type.Optional(DisplayText(200)) },
  { additionalProperties: false },
);
