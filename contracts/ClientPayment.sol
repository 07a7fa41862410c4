// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

/// @title ClientPayment (sandbox)
/// @notice Task payments in SWAN for the swan_jupyter sandbox Orchestrator. Same public ABI as the production
///         ClientPayment that swan-sdk and the Go client call (4- and 3-argument `submitPayment` /
///         `renewPayment`, `amountPaid`, `refundedAmount`, `hardwareInfo`, `sendRefund`, events
///         `PaymentSubmitted`, `Payment`, `Refund`), without the UUPS proxy (the production source is not public).
///
/// Amount rule (identical to the Python side, `swan_jupyter.sandbox.chain.amount_due`):
///   due = floor(pricePerHour * duration / 3600)          (Math.mulDiv: exact, no intermediate overflow)
/// `pricePerHour` is in wei of SWAN per hour, `duration` in seconds. The contract pulls `due` with
/// `SafeERC20.safeTransferFrom(payer, this, due)`. Dust tolerance for float-rounding clients (swan-sdk computes
/// its approval in binary floating point and can approve a few wei less than `due`): when the allowance is below
/// `due` by at most `due / 10**12`, the allowance is pulled instead. Otherwise the token's own
/// `ERC20InsufficientAllowance` / `ERC20InsufficientBalance` custom errors come through unchanged.
/// The token's ERC-20 custom errors are part of this ABI (IERC20Errors) so that clients holding only this ABI
/// can decode them.
/// Pulled tokens stay in this contract so that refunds (`sendRefund`, `claimRefund`) can be paid from them.
contract ClientPayment is Ownable, IERC20Errors {
    using SafeERC20 for IERC20;

    /// @dev Divisor of the dust tolerance: `due / DUST_DIVISOR` wei may be missing from the allowance.
    uint256 public constant DUST_DIVISOR = 10 ** 12;
    uint256 private constant SECONDS_PER_HOUR = 3600;

    struct Hardware {
        string name;
        uint256 pricePerHour;
        bool isActive;
        bool registered;
    }

    struct TaskPayment {
        bool paid;
        bool isPrivate;
        address payer;
        uint256 hardwareId;
        uint256 amountPaid;
        uint256 refunded;
        uint256 pendingClaim;
        address claimRecipient;
    }

    IERC20 private _paymentToken;
    address private _wallet;
    address private _taskManager;
    uint256 private _snapshotId;
    mapping(uint256 => Hardware) private _hardware;
    mapping(string => TaskPayment) private _tasks;
    mapping(address => bool) private _admins;
    mapping(address => uint256) private _claimable;
    mapping(bytes32 => bool) private _usedSignatures;

    /// @notice A payment (creation or renewal) was accepted; `price` is the price per hour in wei.
    event PaymentSubmitted(
        address payer, string uuid, uint256 hardwareId, uint256 price, uint256 duration, uint256 snapshotId
    );
    /// @notice `amount` wei of SWAN were pulled from `payer` for task `uuid`.
    event Payment(address payer, string uuid, uint256 amount);
    /// @notice `amount` wei of SWAN were refunded to `to` for task `taskId`.
    event Refund(string taskId, address to, uint256 amount);
    /// @notice A hardware entry was registered or changed.
    event HardwareSet(uint256 id, string name, uint256 pricePerHour, bool active);
    /// @notice Prices were updated without a new snapshot id.
    event PricesUpdated();
    /// @notice Prices were updated under a new snapshot id.
    event PricesUpdated(uint256 snapshotId);
    /// @notice The admin set changed.
    event AdminSet(address account, bool enabled);
    /// @notice A refund became claimable by `user` with an orchestrator signature (`claimRefund`).
    event RefundCredited(string taskId, address user, uint256 amount);

    modifier onlyAdmin() {
        if (!isAdmin(msg.sender)) revert OwnableUnauthorizedAccount(msg.sender);
        _;
    }

    constructor(address token) Ownable(msg.sender) {
        require(token != address(0), "zero address");
        _paymentToken = IERC20(token);
        _wallet = msg.sender;
    }

    // ------------------------------------------------------------------ payments

    /// @notice Pay for a new task at the given price per hour (wei) for `duration` seconds (swan-sdk 0.1.x).
    function submitPayment(string calldata taskUuid, uint256 hardwareId, uint256 hardwarePricePerHour, uint256 duration)
        external
    {
        _pay(taskUuid, hardwareId, hardwarePricePerHour, duration, false, false);
    }

    /// @notice Pay for a new task at the registered price of `hardwareId` (swan-sdk <= 0.0.8, Go client).
    function submitPayment(string calldata taskUuid, uint256 hardwareId, uint256 duration) external {
        _pay(taskUuid, hardwareId, _registeredPrice(hardwareId), duration, false, false);
    }

    /// @notice Extend a paid task by `duration` seconds at the given price per hour (wei).
    function renewPayment(string calldata taskUuid, uint256 hardwareId, uint256 hardwarePricePerHour, uint256 duration)
        external
    {
        _pay(taskUuid, hardwareId, hardwarePricePerHour, duration, true, false);
    }

    /// @notice Extend a paid task by `duration` seconds at the registered price of `hardwareId`.
    function renewPayment(string calldata taskUuid, uint256 hardwareId, uint256 duration) external {
        _pay(taskUuid, hardwareId, _registeredPrice(hardwareId), duration, true, false);
    }

    /// @notice Like the 4-argument `submitPayment`, for a private task.
    function submitPrivatePayment(
        string calldata taskUuid,
        uint256 hardwareId,
        uint256 hardwarePricePerHour,
        uint256 duration
    ) external {
        _pay(taskUuid, hardwareId, hardwarePricePerHour, duration, false, true);
    }

    /// @notice Like the 3-argument `submitPayment`, for a private task.
    function submitPrivatePayment(string calldata taskUuid, uint256 hardwareId, uint256 duration) external {
        _pay(taskUuid, hardwareId, _registeredPrice(hardwareId), duration, false, true);
    }

    /// @notice The amount due for `duration` seconds at `pricePerHour` wei per hour: floor(price * duration / 3600).
    function computeAmount(uint256 pricePerHour, uint256 duration) public pure returns (uint256) {
        return Math.mulDiv(pricePerHour, duration, SECONDS_PER_HOUR);
    }

    /// @notice Total SWAN (wei) paid for the task, creation and renewals.
    function amountPaid(string calldata taskUuid) external view returns (uint256) {
        return _tasks[taskUuid].amountPaid;
    }

    /// @notice Total SWAN (wei) refunded for the task.
    function refundedAmount(string calldata taskUuid) external view returns (uint256) {
        return _tasks[taskUuid].refunded;
    }

    /// @notice Whether the task's creation payment was accepted (also true for price-0 tasks).
    function isTaskPaid(string calldata taskUuid) external view returns (bool) {
        return _tasks[taskUuid].paid;
    }

    /// @notice The account that made the task's creation payment (zero address when unpaid).
    function taskPayer(string calldata taskUuid) external view returns (address) {
        return _tasks[taskUuid].payer;
    }

    // ------------------------------------------------------------------ refunds

    /// @notice Push a refund of `amount` wei for `taskId` to `user` (admin only).
    function sendRefund(string calldata taskId, address user, uint256 amount) external onlyAdmin {
        require(user != address(0), "zero address");
        TaskPayment storage task = _tasks[taskId];
        require(task.paid, "task not paid");
        require(task.refunded + task.pendingClaim + amount <= task.amountPaid, "refund exceeds paid");
        task.refunded += amount;
        _paymentToken.safeTransfer(user, amount);
        emit Refund(taskId, user, amount);
    }

    /// @notice Make `amount` wei of `taskId` claimable by `user` through `claimRefund` (admin only).
    function creditRefund(string calldata taskId, address user, uint256 amount) external onlyAdmin {
        require(user != address(0), "zero address");
        TaskPayment storage task = _tasks[taskId];
        require(task.paid, "task not paid");
        require(task.pendingClaim == 0 || task.claimRecipient == user, "refund recipient mismatch");
        require(task.refunded + task.pendingClaim + amount <= task.amountPaid, "refund exceeds paid");
        task.pendingClaim += amount;
        task.claimRecipient = user;
        _claimable[user] += amount;
        emit RefundCredited(taskId, user, amount);
    }

    /// @notice SWAN (wei) credited to `user` and not yet claimed.
    function claimableRefund(address user) external view returns (uint256) {
        return _claimable[user];
    }

    /// @notice The digest an admin signs (EIP-191 personal message) to let `user` claim the refund of `taskUid`.
    function refundClaimDigest(string calldata taskUid, address user, uint64 expiry) public view returns (bytes32) {
        return keccak256(abi.encode(block.chainid, address(this), taskUid, user, expiry));
    }

    /// @notice Claim the credited refund of `taskUid` with an admin signature over `refundClaimDigest`.
    function claimRefund(string calldata taskUid, uint64 expiry, bytes calldata signature) external {
        require(block.timestamp <= expiry, "signature expired");
        bytes32 sigHash = keccak256(signature);
        require(!_usedSignatures[sigHash], "signature already used");
        bytes32 digest = MessageHashUtils.toEthSignedMessageHash(refundClaimDigest(taskUid, msg.sender, expiry));
        require(isAdmin(ECDSA.recoverCalldata(digest, signature)), "invalid signature");
        TaskPayment storage task = _tasks[taskUid];
        require(task.claimRecipient == msg.sender, "not the refund recipient");
        uint256 amount = task.pendingClaim;
        require(amount > 0, "nothing to claim");
        _usedSignatures[sigHash] = true;
        task.pendingClaim = 0;
        task.refunded += amount;
        _claimable[msg.sender] -= amount;
        _paymentToken.safeTransfer(msg.sender, amount);
        emit Refund(taskUid, msg.sender, amount);
    }

    /// @notice Whether `signature` was already used by `claimRefund`.
    function isSignatureUsed(bytes calldata signature) external view returns (bool) {
        return _usedSignatures[keccak256(signature)];
    }

    // ------------------------------------------------------------------ hardware catalogue

    /// @notice (name, price per hour in wei, active) of `id`; ("", 0, false) for an unknown id.
    function hardwareInfo(uint256 id) external view returns (string memory name, uint256 pricePerHour, bool isActive) {
        Hardware storage hw = _hardware[id];
        return (hw.name, hw.pricePerHour, hw.isActive);
    }

    /// @notice Whether `id` was ever registered.
    function isHardwareRegistered(uint256 id) external view returns (bool) {
        return _hardware[id].registered;
    }

    /// @notice Register or change one hardware entry (owner only).
    function setHardware(uint256 id, string calldata name, uint256 pricePerHour, bool active) external onlyOwner {
        _setHardware(id, name, pricePerHour, active);
    }

    /// @notice Register or change several hardware entries (owner only).
    function batchSetHardware(
        uint256[] calldata ids,
        string[] calldata names,
        uint256[] calldata prices,
        bool[] calldata actives
    ) external onlyOwner {
        require(ids.length == names.length && ids.length == prices.length && ids.length == actives.length,
            "length mismatch");
        for (uint256 i = 0; i < ids.length; ++i) {
            _setHardware(ids[i], names[i], prices[i], actives[i]);
        }
    }

    /// @notice Set the prices of registered hardware under a new snapshot id (admin only).
    function updatePrices(uint256 snapshotId, uint256[] calldata ids, uint256[] calldata prices) external onlyAdmin {
        _updatePrices(ids, prices);
        _snapshotId = snapshotId;
        emit PricesUpdated(snapshotId);
    }

    /// @notice Set the prices of registered hardware, keeping the snapshot id (admin only).
    function updatePrices(uint256[] calldata ids, uint256[] calldata prices) external onlyAdmin {
        _updatePrices(ids, prices);
        emit PricesUpdated();
    }

    /// @notice The current price snapshot id (carried by `PaymentSubmitted`).
    function getSnapshotId() external view returns (uint256) {
        return _snapshotId;
    }

    /// @notice Set the current price snapshot id (admin only).
    function setSnapshotId(uint256 snapshotId) external onlyAdmin {
        _snapshotId = snapshotId;
    }

    // ------------------------------------------------------------------ administration

    /// @notice The ERC-20 used for payments (SWAN).
    function paymentToken() external view returns (address) {
        return address(_paymentToken);
    }

    /// @notice Change the payment token (owner only).
    function setPaymentToken(address token) external onlyOwner {
        require(token != address(0), "zero address");
        _paymentToken = IERC20(token);
    }

    /// @notice The operator's revenue wallet (informative in the sandbox: payments stay in the contract).
    function getWallet() external view returns (address) {
        return _wallet;
    }

    /// @notice Set the revenue wallet (owner only).
    function setWallet(address wallet) external onlyOwner {
        require(wallet != address(0), "zero address");
        _wallet = wallet;
    }

    /// @notice The task manager address (treated as an admin).
    function getTaskManager() external view returns (address) {
        return _taskManager;
    }

    /// @notice Set the task manager address (owner only).
    function setTaskManagerAddress(address taskManager) external onlyOwner {
        _taskManager = taskManager;
    }

    /// @notice Whether `account` may call admin functions (owner, task manager, or an enabled admin).
    function isAdmin(address account) public view returns (bool) {
        return account == owner() || (account != address(0) && account == _taskManager) || _admins[account];
    }

    /// @notice Enable or disable an admin (owner only).
    function setAdmin(address account, bool enabled) external onlyOwner {
        require(account != address(0), "zero address");
        _admins[account] = enabled;
        emit AdminSet(account, enabled);
    }

    /// @notice Version string of this sandbox contract.
    function version() external pure returns (string memory) {
        return "sandbox-1";
    }

    // ------------------------------------------------------------------ internals

    function _registeredPrice(uint256 hardwareId) private view returns (uint256) {
        require(_hardware[hardwareId].registered, "unknown hardware");
        return _hardware[hardwareId].pricePerHour;
    }

    function _pay(
        string calldata taskUuid,
        uint256 hardwareId,
        uint256 pricePerHour,
        uint256 duration,
        bool renewal,
        bool isPrivate
    ) private {
        require(bytes(taskUuid).length > 0, "empty task uuid");
        Hardware storage hw = _hardware[hardwareId];
        require(hw.registered, "unknown hardware");
        require(hw.isActive, "hardware inactive");
        require(duration > 0, "duration must be positive");
        require(pricePerHour == hw.pricePerHour, "price mismatch");
        TaskPayment storage task = _tasks[taskUuid];
        if (renewal) {
            require(task.paid, "task not paid");
        } else {
            require(!task.paid, "task already paid");
            task.paid = true;
            task.isPrivate = isPrivate;
            task.payer = msg.sender;
            task.hardwareId = hardwareId;
        }
        uint256 due = computeAmount(pricePerHour, duration);
        uint256 pulled = due;
        uint256 allowance = _paymentToken.allowance(msg.sender, address(this));
        if (allowance < due && due - allowance <= due / DUST_DIVISOR) {
            pulled = allowance;
        }
        task.amountPaid += pulled;
        if (pulled > 0) {
            _paymentToken.safeTransferFrom(msg.sender, address(this), pulled);
        }
        emit PaymentSubmitted(msg.sender, taskUuid, hardwareId, pricePerHour, duration, _snapshotId);
        emit Payment(msg.sender, taskUuid, pulled);
    }

    function _setHardware(uint256 id, string calldata name, uint256 pricePerHour, bool active) private {
        require(bytes(name).length > 0, "empty hardware name");
        _hardware[id] = Hardware({name: name, pricePerHour: pricePerHour, isActive: active, registered: true});
        emit HardwareSet(id, name, pricePerHour, active);
    }

    function _updatePrices(uint256[] calldata ids, uint256[] calldata prices) private {
        require(ids.length == prices.length, "length mismatch");
        for (uint256 i = 0; i < ids.length; ++i) {
            require(_hardware[ids[i]].registered, "unknown hardware");
            _hardware[ids[i]].pricePerHour = prices[i];
        }
    }
}
