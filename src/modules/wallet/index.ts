export { createWalletService, operatorMemo, type WalletService, type SystemAccount, type TransferReason, type UserTransfer, type TransferResult } from './wallet.service.js';
export { walletRoutes } from './wallet.routes.js';
