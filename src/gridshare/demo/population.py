"""Who DG&E serves: customers by archetype, with their accounts, contracts, service points,
premises, meters, programs, and the apartment building's aggregation (CDS-WG3-01 §10.1-§10.4,
§10.7).

The first customers cover every archetype, so even a small demo shows them all:

0. `home` - a dual-fuel home on time-of-use; moved house during the history (a closed contract).
1. `solar` - rooftop solar installed mid-history: the meter swapped for a bidirectional one with
   net, forward and reverse channels, net energy metering, meter apps.
2. `business` - a café: business TOU with a demand channel and charge, gas, demand response, a
   meter app, a solar power purchase agreement (EACs).
3. `tenant` - a unit in an apartment building (whole-building aggregation), tiered rate, supply
   from the community choice aggregator (two bill sections).
4. `chain` - a hardware chain: a parent account billing twelve child store accounts.
5. `rural` - a monthly-read AMR meter, a water meter, the low-income discount, partial payments.
6-8. more apartment units; then a random mix of homes, solar homes and small businesses.

Dates: a contract, service point link or meter installation runs from `start` until `end`
exclusive (`end` is the first day without it); `None` means still open.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import numpy as np

from gridshare.config import Settings
from gridshare.demo import catalog as plans
from gridshare.demo import people
from gridshare.demo.catalog import Catalog
from gridshare.demo.ids import Ids, Numbers
from gridshare.demo.loadshapes import Business, Household
from gridshare.demo.territory import TOWN, Location, Town, locate, pick_town
from gridshare.store.tables.accounts import Account, AccountContact
from gridshare.store.tables.aggregations import (
    Aggregation,
    AggregationMember,
    AggregationRegion,
    ConsentRequirement,
)
from gridshare.store.tables.contracts import ServiceContract
from gridshare.store.tables.customers import Customer
from gridshare.store.tables.meters import MeterApp, MeterDevice, MeterInstallation
from gridshare.store.tables.programs import Participation
from gridshare.store.tables.servicepoints import (
    Premise,
    ServicePoint,
    ServicePointContract,
    ServicePointPremise,
)


@dataclass(frozen=True)
class ChannelSpec:
    """One quantity a meter records; `interval_seconds` 0 means one read per month."""

    kind: str
    direction: str | None
    units: str
    interval_seconds: int
    decimals: int


DECIMALS = {"electric": 3, "natural_gas": 3, "water": 1}
"""Decimal places of interval readings: Wh, milli-therms, tenths of a gallon."""

FORWARD = ChannelSpec("electric_usage", "forward", "kWh", 900, DECIMALS["electric"])
NET = ChannelSpec("electric_usage", "net", "kWh", 900, DECIMALS["electric"])
REVERSE = ChannelSpec("electric_usage", "reverse", "kWh", 900, DECIMALS["electric"])
DEMAND = ChannelSpec("electric_demand", "forward", "kW", 900, DECIMALS["electric"])
MONTHLY = ChannelSpec("electric_usage", "forward", "kWh", 0, 0)
"""A monthly-read AMR register: whole kWh, one read per calendar month."""
GAS = ChannelSpec("natural_gas_usage", None, "therm", 3600, DECIMALS["natural_gas"])
WATER = ChannelSpec("water_usage", None, "gal", 3600, DECIMALS["water"])
CHAIN_STORES = 12
"""Stores of the `chain` test customer: more than ten, so its lists on the authorization form
have search, a count and "show only selected" (CDS-WG3-01 §9.2.3)."""

AMI_TYPES = ["electric_usage", "forward_only", "physical_meter", "ami_meter", "zigbee_capable"]
NEM_TYPES = [
    "electric_usage",
    "bidirectional",
    "physical_meter",
    "ami_meter",
    "zigbee_capable",
    "zigbee_enabled",
    "wifi_capable",
    "customer_apps_capable",
]
BUSINESS_TYPES = [
    "electric_usage",
    "electric_demand",
    "forward_only",
    "physical_meter",
    "ami_meter",
    "central_apps_capable",
]
AMR_TYPES = ["electric_usage", "forward_only", "physical_meter", "amr_meter"]
GAS_TYPES = ["natural_gas_usage", "forward_only", "physical_meter", "ami_meter"]
WATER_TYPES = ["water_usage", "forward_only", "physical_meter", "ami_meter"]


@dataclass
class Installed:
    """A meter at a site from `start` until `end`, and what it records."""

    meter: MeterDevice
    channels: tuple[ChannelSpec, ...]
    start: date
    end: date | None
    register: int = 0
    """For monthly-read meters: the register (whole kWh) when the history starts."""


@dataclass
class Site:
    """What flows through one service point while it is occupied, and the meters recording it."""

    key: str
    point: ServicePoint
    commodity: str
    occupant: Household | Business
    occupied: tuple[date | None, date | None]
    meters: list[Installed]
    solar: tuple[date, float] | None = None
    """When rooftop solar started, and its capacity in kW."""
    gaps: list[tuple[date, int, int, str]] = field(default_factory=list)
    """Readings every meter here lost on purpose: (day, first interval, count, quality)."""


@dataclass(frozen=True)
class Service:
    """A contract and the site it serves."""

    contract: ServiceContract
    site: Site


@dataclass(frozen=True)
class TestLogin:
    username: str
    password: str
    description: str


@dataclass
class Plan:
    """Every record of the demo's customers, in an order that satisfies foreign keys."""

    catalog: Catalog
    first: date
    last: date
    customers: list[Customer] = field(default_factory=list)
    accounts: list[Account] = field(default_factory=list)
    contacts: list[AccountContact] = field(default_factory=list)
    premises: list[Premise] = field(default_factory=list)
    points: list[ServicePoint] = field(default_factory=list)
    point_premises: list[ServicePointPremise] = field(default_factory=list)
    contracts: list[ServiceContract] = field(default_factory=list)
    point_contracts: list[ServicePointContract] = field(default_factory=list)
    meters: list[MeterDevice] = field(default_factory=list)
    installations: list[MeterInstallation] = field(default_factory=list)
    apps: list[MeterApp] = field(default_factory=list)
    participations: list[Participation] = field(default_factory=list)
    aggregations: list[Aggregation] = field(default_factory=list)
    aggregation_rows: list[object] = field(default_factory=list)
    sites: list[Site] = field(default_factory=list)
    logins: list[TestLogin] = field(default_factory=list)
    payers: dict[str, str] = field(default_factory=dict)
    """Payment behaviour by billed account id: prompt, partial or sporadic."""
    passwords: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    """Customer id -> (password, salt); hashed by the generator."""
    ppa_account: Account | None = None
    """The account with a solar power purchase agreement (its EACs name it)."""

    def billing_groups(self) -> list[tuple[Account, list[Site]]]:
        """Each billed account (not a child) with the sites its and its children's contracts
        serve, in account order."""
        accounts = {a.id: a for a in self.accounts}
        owner = {c.id: c.account_id for c in self.contracts}
        billed_by_point: dict[str, str] = {}
        for link in self.point_contracts:
            account = accounts[owner[link.contract_id]]
            billed_by_point[link.service_point_id] = account.parent_id or account.id
        sites: dict[str, list[Site]] = {a.id: [] for a in self.accounts if a.parent_id is None}
        for site in self.sites:
            sites[billed_by_point[site.point.id]].append(site)
        return [(accounts[account_id], found) for account_id, found in sites.items()]

    def rows(self) -> list[Sequence[object]]:
        """The records in insertion order, one list per table."""
        return [
            self.customers,
            self.accounts,
            self.contacts,
            self.premises,
            self.points,
            self.point_premises,
            self.contracts,
            self.point_contracts,
            self.meters,
            self.installations,
            self.apps,
            self.participations,
            self.aggregations,
            self.aggregation_rows,
        ]


def plan(
    settings: Settings, catalog: Catalog, seed: int, customers: int, first: date, last: date
) -> Plan:
    """The demo's customers and everything they own, for the history `first`..`last`."""
    builder = _Builder(settings, catalog, seed, first, last)
    slots: list[Callable[[int], None]] = [
        builder.home_that_moved,
        builder.solar_home,
        builder.cafe,
        builder.tenant,
        builder.chain,
        builder.rural_home,
        builder.tenant,
        builder.tenant,
        builder.tenant,
    ]
    for index in range(customers):
        slot = slots[index] if index < len(slots) else builder.random_customer
        slot(index)
    builder.building_aggregation()
    return builder.plan


class _Builder:
    def __init__(self, settings: Settings, catalog: Catalog, seed: int, first: date, last: date):
        self.settings = settings
        self.catalog = catalog
        self.seed = seed
        self.ids = Ids(seed)
        self.numbers = Numbers(seed)
        self.first = first
        self.last = last
        self.plan = Plan(catalog, first, last)
        self.building: Location | None = None
        self.building_premises: list[Premise] = []
        self.units: list[tuple[ServicePoint, ServiceContract, MeterDevice]] = []

    # -- time ----------------------------------------------------------------------------------

    def at(self, fraction: float) -> date:
        """A day `fraction` of the way through the history."""
        return self.first + timedelta(days=round((self.last - self.first).days * fraction))

    def long_ago(self, rng: random.Random, low: int = 400, high: int = 4000) -> date:
        """A day `low` to `high` days before the history starts."""
        return self.first - timedelta(days=rng.randint(low, high))

    def installed_before(self, key: str, since: date) -> date:
        """When the meter serving since `since` was installed (often before that customer)."""
        return min(since, self.long_ago(random.Random(f"demo:{self.seed}:meter:{key}"), 300, 3000))

    # -- people and accounts ---------------------------------------------------------------------

    def rng(self, index: int) -> random.Random:
        return random.Random(f"demo:{self.seed}:customer:{index}")

    def np_rng(self, *key: object) -> np.random.Generator:
        digest = self.ids("rng", *key).split("_", 1)[1]
        return np.random.default_rng([self.seed, int(digest, 16)])

    def customer(
        self,
        index: int,
        rng: random.Random,
        name: str,
        town: Town,
        login: TestLogin | None = None,
    ) -> Customer:
        username = login.username if login else people.username(name, index + 1)
        if login:
            password = login.password
            self.plan.logins.append(login)
        else:
            alphabet = string.ascii_letters + string.digits
            password = "".join(rng.choice(alphabet) for _ in range(20))
        customer = Customer(
            id=self.ids("cust", index),
            customer_number=self.numbers.formatted("customer", "C", 20_000_000),
            name=name,
            username=username,
            password_hash="",  # set by the generator (scrypt is slow; it hashes in parallel)
            email=people.email(username, rng),
            phone=people.phone(town.area_code, rng),
            is_test=login is not None,
            description=login.description if login else None,
        )
        self.plan.passwords[customer.id] = (password, self.ids.salt(username))
        self.plan.customers.append(customer)
        return customer

    def account(
        self,
        customer: Customer,
        key: str,
        name: str,
        address: str,
        types: list[str],
        *,
        parent: Account | None = None,
        payer: str = "prompt",
        test: bool = False,
    ) -> Account:
        account = Account(
            id=self.ids("acct", customer.id, key),
            customer_id=customer.id,
            parent_id=parent.id if parent else None,
            entity_id=self.catalog.dge.id,
            account_number=self.numbers.account(),
            name=name,
            address=address,
            types=["customer", *types, *(["test"] if test else [])],
            status="active",
        )
        self.plan.accounts.append(account)
        if parent is None:
            self.plan.payers[account.id] = payer
        email_types = ["email", "primary", "preferred"]
        phone_types = ["phone_number", "work" if "commercial" in types else "mobile", "primary"]
        for position, (types_, value) in enumerate(
            ((email_types, customer.email), (phone_types, customer.phone))
        ):
            assert value is not None  # every demo customer has both
            self.plan.contacts.append(
                AccountContact(
                    id=self.ids("contact", account.id, position),
                    account_id=account.id,
                    types=types_,
                    value=value,
                    name=customer.name,
                )
            )
        return account

    # -- places, contracts and meters ----------------------------------------------------------

    def premise(self, key: str, types: list[str]) -> Premise:
        premise = Premise(
            id=self.ids("prem", key),
            premise_number=self.numbers.formatted("premise", "P", 7_000_000),
            types=types,
        )
        self.plan.premises.append(premise)
        return premise

    def point(
        self, key: str, location: Location, commodity: str, premises: list[Premise]
    ) -> ServicePoint:
        point = ServicePoint(
            id=self.ids("sp", key, commodity),
            servicepoint_number=self.numbers.formatted("point", "SP", 30_000_000),
            types=[commodity, "single_service", "physical", "edge"],
            address=location.address,
            postal_code=location.postal_code,
            latitude=location.latitude,
            longitude=location.longitude,
        )
        self.plan.points.append(point)
        for premise in premises:
            self.plan.point_premises.append(
                ServicePointPremise(service_point_id=point.id, premise_id=premise.id)
            )
        return point

    def contract(
        self,
        account: Account,
        point: ServicePoint,
        rate_plan: str,
        start: date,
        end: date | None,
        service_types: list[str],
        *,
        cca: bool = False,
    ) -> ServiceContract:
        commodity = self.catalog.rate_plans[rate_plan].commodity
        supplier = self.catalog.cca if cca else self.catalog.dge
        supply = [] if cca else ["supply"]
        contract = ServiceContract(
            id=self.ids("sc", point.id, start),
            account_id=account.id,
            contract_number=self.numbers.formatted("contract", "SA-", 5_100_000_000),
            address=point.address,
            types=["utility_service", "billed_monthly"],
            status="active" if end is None else "closed",
            start=start,
            end=end,
            service_types=[commodity, *service_types, "metered", "distribution", *supply],
            rate_plan_id=self.catalog.rate_plans[rate_plan].id,
            distribution_entity_id=self.catalog.dge.id,
            supply_entity_id=supplier.id,
        )
        self.plan.contracts.append(contract)
        self.plan.point_contracts.append(
            ServicePointContract(
                service_point_id=point.id, contract_id=contract.id, start=start, end=end
            )
        )
        return contract

    def meter(
        self,
        point: ServicePoint,
        types: list[str],
        channels: tuple[ChannelSpec, ...],
        start: date,
        end: date | None = None,
        register: int = 0,
    ) -> Installed:
        prefix = {"electric_usage": "E", "natural_gas_usage": "G", "water_usage": "W"}[types[0]]
        meter = MeterDevice(
            id=self.ids("mtr", point.id, start),
            meter_number=self.numbers.formatted(f"meter{prefix}", prefix, 10_000_000),
            types=types,
        )
        self.plan.meters.append(meter)
        self.plan.installations.append(
            MeterInstallation(meter_id=meter.id, service_point_id=point.id, start=start, end=end)
        )
        return Installed(meter, channels, start, end, register)

    def app(
        self,
        meter: MeterDevice,
        number: str,
        name: str,
        types: list[str],
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> None:
        self.plan.apps.append(
            MeterApp(
                id=self.ids("app", meter.id, number),
                meter_id=meter.id,
                app_number=number,
                name=name,
                types=types,
                start=start,
                end=end,
            )
        )

    def participation(
        self,
        program_id: str,
        status: str,
        start: date | None,
        end: date | None = None,
        *,
        account: Account | None = None,
        contract: ServiceContract | None = None,
        balance_units: str | None = None,
    ) -> Participation:
        owner = account.id if account else contract.id if contract else None
        participation = Participation(
            id=self.ids("part", program_id, owner),
            program_id=program_id,
            account_id=account.id if account else None,
            contract_id=contract.id if contract else None,
            status=status,
            participation_number=self.numbers.formatted("participation", "PN-", 880_000),
            start=start,
            end=end,
            balance=Decimal(0) if balance_units else None,
            balance_units=balance_units,
        )
        self.plan.participations.append(participation)
        return participation

    def house(
        self,
        key: str,
        account: Account,
        location: Location,
        home: Household,
        *,
        electric_plan: str,
        since: date,
        until: date | None = None,
        gas: bool = False,
        water: bool = False,
        cca: bool = False,
        amr_register: int | None = None,
    ) -> list[Service]:
        """A house's services (electric first), occupied from `since` until `until`."""
        premise = self.premise(key, ["building"])
        installed = self.installed_before(key, since)
        point = self.point(key, location, "electric", [premise])
        if amr_register is None:
            meter = self.meter(point, AMI_TYPES, (FORWARD,), installed)
        else:
            meter = self.meter(point, AMR_TYPES, (MONTHLY,), installed, register=amr_register)
        services = [self.service(account, point, electric_plan, home, meter, since, until, cca=cca)]
        for wanted, commodity, rate, types, spec in (
            (gas, "natural_gas", plans.GAS_TIERED, GAS_TYPES, GAS),
            (water, "water", plans.WATER, WATER_TYPES, WATER),
        ):
            if wanted:
                point = self.point(key, location, commodity, [premise])
                meter = self.meter(point, types, (spec,), installed)
                services.append(self.service(account, point, rate, home, meter, since, until))
        return services

    def shop(
        self,
        key: str,
        account: Account,
        location: Location,
        business: Business,
        *,
        since: date,
        gas: bool,
    ) -> list[Service]:
        """A business's services (electric first), open since `since`."""
        premise = self.premise(key, ["building"])
        installed = self.installed_before(key, since)
        point = self.point(key, location, "electric", [premise])
        meter = self.meter(point, BUSINESS_TYPES, (FORWARD, DEMAND), installed)
        services = [self.service(account, point, plans.BUSINESS_TOU, business, meter, since, None)]
        if gas:
            point = self.point(key, location, "natural_gas", [premise])
            meter = self.meter(point, GAS_TYPES, (GAS,), installed)
            services.append(
                self.service(account, point, plans.GAS_BUSINESS, business, meter, since, None)
            )
        return services

    def service(
        self,
        account: Account,
        point: ServicePoint,
        rate_plan: str,
        occupant: Household | Business,
        meter: Installed,
        since: date,
        until: date | None,
        *,
        cca: bool = False,
    ) -> Service:
        """A contract through `point` and the site whose usage `meter` records."""
        kind = "commercial" if isinstance(occupant, Business) else "residential"
        contract = self.contract(account, point, rate_plan, since, until, [kind], cca=cca)
        commodity = self.catalog.rate_plans[rate_plan].commodity
        site = Site(point.id, point, commodity, occupant, (since, until), [meter])
        self.plan.sites.append(site)
        return Service(contract, site)

    def timestamp(self, day: date, hour: int) -> datetime:
        return datetime.combine(day, time(hour), tzinfo=self.settings.tz).astimezone(UTC)

    # -- archetypes ----------------------------------------------------------------------------

    def home_that_moved(self, index: int) -> None:
        rng = self.rng(index)
        login = TestLogin(
            "home",
            "demo-home",
            "A dual-fuel home on the time-of-use rate (electric 15-minute, gas hourly). Moved "
            "house during the history, so it also has a closed contract at its old address; two "
            "hours of readings were estimated.",
        )
        customer = self.customer(index, rng, "Alex Rivera", TOWN["Davis"], login)
        new_home, old_home = locate(rng, TOWN["Davis"]), locate(rng, TOWN["Woodland"])
        account = self.account(
            customer,
            "home",
            customer.name,
            new_home.address,
            ["residential", "billed_monthly"],
            test=True,
        )
        moved = self.at(0.3)
        household = Household.draw(self.np_rng(index, "home"), electric_heat=False)
        self.house(
            f"{index}-old",
            account,
            old_home,
            household,
            electric_plan=plans.RESIDENTIAL_TOU,
            since=self.long_ago(rng),
            until=moved,
            gas=True,
        )
        services = self.house(
            f"{index}-new",
            account,
            new_home,
            household,
            electric_plan=plans.RESIDENTIAL_TOU,
            since=moved,
            gas=True,
        )
        services[0].site.gaps.append((self.at(0.55), 40, 8, "estimated"))

    def solar_home(self, index: int) -> None:
        rng = self.rng(index)
        login = TestLogin(
            "solar",
            "demo-solar",
            "A home that installed rooftop solar mid-history: its meter was swapped for a "
            "bidirectional one (net, forward and reverse 15-minute channels; reverse readings "
            "are negative, net = forward + reverse), on net energy metering with a kWh credit "
            "bank; meter apps; left demand response when the solar went in.",
        )
        customer = self.customer(index, rng, "Sam Okafor", TOWN["Davis"], login)
        location = locate(rng, TOWN["Davis"])
        account = self.account(
            customer,
            "home",
            customer.name,
            location.address,
            ["residential", "billed_monthly"],
            test=True,
        )
        household = Household.draw(self.np_rng(index, "home"), size=1.2, electric_heat=False)
        since = self.long_ago(rng)
        electric = self.house(
            str(index),
            account,
            location,
            household,
            electric_plan=plans.RESIDENTIAL_TOU,
            since=since,
            gas=True,
        )[0]
        installed = self.at(0.4)
        nem_meter = self.add_solar(electric, installed, 6.4)
        self.participation(
            self.catalog.demand_response.id,
            "inactive",
            since + timedelta(days=200),
            installed,
            contract=electric.contract,
        )
        self.app(
            nem_meter, "DGE-APP-HEM", "Home Energy Monitor", ["compatible", "customer_installable"]
        )
        self.app(
            nem_meter,
            "DGE-APP-BATT",
            "Battery Optimizer",
            ["uninstalled", "customer_installable"],
            start=self.timestamp(installed + timedelta(days=3), 10),
            end=self.timestamp(installed + timedelta(days=17), 15),
        )

    def add_solar(self, electric: Service, installed: date, capacity_kw: float) -> MeterDevice:
        """Rooftop solar from `installed`: the old meter comes out, a NEM meter goes in."""
        site = electric.site
        old = site.meters[-1]
        old.end = installed
        for row in self.plan.installations:
            if row.meter_id == old.meter.id:
                row.end = installed
        new = self.meter(site.point, NEM_TYPES, (NET, FORWARD, REVERSE), installed)
        site.meters.append(new)
        site.solar = (installed, capacity_kw)
        self.participation(
            self.catalog.net_metering.id,
            "active",
            installed,
            contract=electric.contract,
            balance_units="kWh",
        )
        return new.meter

    def cafe(self, index: int) -> None:
        rng = self.rng(index)
        login = TestLogin(
            "business",
            "demo-business",
            "A café on the small-business time-of-use rate with a demand charge (15-minute kWh "
            "and kW demand channels) and business gas; enrolled in demand response; a load "
            "manager app on its meter; a solar power purchase agreement (EACs); an hour of "
            "readings is missing.",
        )
        customer = self.customer(index, rng, "Tule Fog Coffee LLC", TOWN["Davis"], login)
        location = locate(rng, TOWN["Davis"])
        account = self.account(
            customer,
            "shop",
            "Tule Fog Coffee",
            location.address,
            ["commercial", "billed_monthly"],
            test=True,
        )
        self.plan.ppa_account = account
        business = Business.draw(self.np_rng(index, "shop"), size=0.8)
        since = self.long_ago(rng)
        electric = self.shop(str(index), account, location, business, since=since, gas=True)[0]
        electric.site.gaps.append((self.at(0.6), 8, 4, "missing"))
        self.participation(
            self.catalog.demand_response.id,
            "active",
            since + timedelta(days=90),
            contract=electric.contract,
        )
        self.app(
            electric.site.meters[0].meter,
            "DGE-APP-LM",
            "Load Manager",
            ["installed", "central_installable"],
            start=self.timestamp(self.first - timedelta(days=45), 9),
        )

    def tenant(self, index: int) -> None:
        rng = self.rng(index)
        unit = len(self.units) + 1
        login = None
        if unit == 1:
            login = TestLogin(
                "tenant",
                "demo-tenant",
                "A unit in Sycamore Court Apartments (the building's meters form a "
                "whole-building aggregation with a consent requirement), on the tiered rate with "
                "supply from the community choice aggregator, so each bill has a delivery and a "
                "generation section; eligible for the low-income discount.",
            )
        name = "Jordan Lee" if login else people.person(rng)
        customer = self.customer(index, rng, name, TOWN["Davis"], login)
        if self.building is None:
            self.building = locate(rng, TOWN["Davis"], "120 Sycamore Ln")
            self.building_premises = [
                self.premise("building", ["building"]),
                self.premise("panel", ["service_group"]),
            ]
        location = replace(self.building, street=f"{self.building.street} Apt {unit}")
        account = self.account(
            customer,
            "home",
            name,
            location.address,
            ["residential", "billed_monthly"],
            test=login is not None,
        )
        point = self.point(str(index), location, "electric", self.building_premises)
        since = self.long_ago(rng, 60, 1500)
        meter = self.meter(point, AMI_TYPES, (FORWARD,), self.installed_before(str(index), since))
        household = Household.draw(self.np_rng(index, "home"), size=0.6, electric_heat=True)
        service = self.service(
            account, point, plans.RESIDENTIAL_TIERED, household, meter, since, None, cca=True
        )
        self.units.append((point, service.contract, meter.meter))
        if unit == 1:
            self.participation(self.catalog.low_income.id, "eligible", None, account=account)
        elif unit == 2:
            self.participation(
                self.catalog.low_income.id, "inactive", since, self.at(0.5), account=account
            )

    def chain(self, index: int) -> None:
        rng = self.rng(index)
        login = TestLogin(
            "chain",
            "demo-chain",
            f"A hardware chain: one parent account billed for {CHAIN_STORES} child store accounts "
            "(each bill has a sub-account section per store; more than ten, so the authorization "
            "form offers search), business TOU with demand; one store is eligible for demand "
            "response.",
        )
        customer = self.customer(index, rng, "Valley Hardware Co.", TOWN["Woodland"], login)
        office = locate(rng, TOWN["Woodland"])
        parent = self.account(
            customer,
            "parent",
            customer.name,
            office.address,
            ["commercial", "parent", "billed_monthly"],
            test=True,
        )
        towns = ("Woodland", "Dixon", "Winters")
        for number in range(1, CHAIN_STORES + 1):
            town = towns[(number - 1) % len(towns)]
            location = locate(rng, TOWN[town])
            child = self.account(
                customer,
                f"store-{number}",
                f"Valley Hardware #{number} ({town})",
                location.address,
                ["commercial", "child"],
                parent=parent,
                test=True,
            )
            business = Business.draw(self.np_rng(index, "store", number), size=1.3)
            electric = self.shop(
                f"{index}-{number}",
                child,
                location,
                business,
                since=self.long_ago(rng),
                gas=False,
            )[0]
            if number == 2:
                self.participation(
                    self.catalog.demand_response.id, "eligible", None, contract=electric.contract
                )

    def rural_home(self, index: int) -> None:
        rng = self.rng(index)
        login = TestLogin(
            "rural",
            "demo-rural",
            "An older home with a monthly-read AMR electric meter (one reading per month) on the "
            "tiered rate and an hourly water meter; on the low-income discount; pays only part "
            "of each bill, so it carries unpaid balances and gets shutoff-prevention notices.",
        )
        customer = self.customer(index, rng, "Maria Delgado", TOWN["Winters"], login)
        location = locate(rng, TOWN["Winters"])
        account = self.account(
            customer,
            "home",
            customer.name,
            location.address,
            ["residential", "billed_monthly"],
            payer="partial",
            test=True,
        )
        household = Household.draw(self.np_rng(index, "home"), size=0.9, electric_heat=True)
        since = self.long_ago(rng, 2000, 6000)
        self.house(
            str(index),
            account,
            location,
            household,
            electric_plan=plans.RESIDENTIAL_TIERED,
            since=since,
            water=True,
            amr_register=rng.randint(20_000, 80_000),
        )
        self.participation(
            self.catalog.low_income.id, "active", since + timedelta(days=400), account=account
        )

    def random_customer(self, index: int) -> None:
        rng = self.rng(index)
        draw = rng.random()
        if draw < 0.18:
            self.random_business(index, rng)
            return
        town = pick_town(rng)
        name = people.person(rng)
        customer = self.customer(index, rng, name, town)
        location = locate(rng, town)
        payer = rng.choices(("prompt", "partial", "sporadic"), (0.85, 0.10, 0.05))[0]
        account = self.account(
            customer,
            "home",
            name,
            location.address,
            ["residential", "billed_monthly"],
            payer=payer,
        )
        solar = draw > 0.88
        gas = town.gas and rng.random() < 0.75
        household = Household.draw(
            self.np_rng(index, "home"), size=rng.uniform(0.7, 1.4), electric_heat=not gas
        )
        rate = plans.RESIDENTIAL_TOU if solar or rng.random() < 0.55 else plans.RESIDENTIAL_TIERED
        since = self.long_ago(rng, 30, 5000)
        services = self.house(
            str(index),
            account,
            location,
            household,
            electric_plan=rate,
            since=since,
            gas=gas,
            water=town.water,
            cca=not solar and rng.random() < 0.3,
        )
        if solar:
            installed = max(since + timedelta(days=1), self.at(rng.uniform(-2.0, 0.8)))
            self.add_solar(services[0], installed, round(rng.uniform(3.5, 9.0), 1))
        if rng.random() < 0.12:
            self.participation(
                self.catalog.low_income.id,
                "active",
                max(since, self.long_ago(rng, 0, 900)),
                account=account,
            )

    def random_business(self, index: int, rng: random.Random) -> None:
        town = pick_town(rng)
        name, cooks = rng.choice(people.BUSINESSES)
        customer = self.customer(index, rng, f"{name} ({town.name})", town)
        location = locate(rng, town)
        account = self.account(
            customer, "shop", name, location.address, ["commercial", "billed_monthly"]
        )
        business = Business.draw(self.np_rng(index, "shop"), size=rng.uniform(0.5, 1.5))
        self.shop(
            str(index),
            account,
            location,
            business,
            since=self.long_ago(rng, 30, 5000),
            gas=cooks and town.gas,
        )

    def building_aggregation(self) -> None:
        """Sycamore Court's whole-building aggregation (CDS-WG3-01 §4.11, §10.7)."""
        if not self.units or self.building is None:
            return
        aggregation = Aggregation(
            id=self.ids("agg", "sycamore-court"),
            aggregation_number="BLDG-DAVIS-0120",
            name="Sycamore Court Apartments (whole building)",
            types=["building", "listed"],
            details={},
            addresses=[self.building.address],
        )
        self.plan.aggregations.append(aggregation)
        rows: list[object] = [
            AggregationRegion(
                id=self.ids("region", aggregation.id, self.building.postal_code),
                aggregation_id=aggregation.id,
                name=f"{self.building.town.name} {self.building.postal_code}",
                types=["postal_code"],
                details={"postal_codes": [self.building.postal_code]},
            ),
            ConsentRequirement(
                id=self.ids("consent", aggregation.id),
                aggregation_id=aggregation.id,
                name="Tenant consent when the building has fewer than four units or one unit "
                "uses more than half of its electricity",
                types=["always"] if len(self.units) < 4 else ["sometimes"],
                documentation=self.settings.url("/docs/aggregations#whole-building-consent"),
            ),
        ]
        for point, contract, meter in self.units:
            rows += [
                AggregationMember(aggregation_id=aggregation.id, service_point_id=point.id),
                AggregationMember(aggregation_id=aggregation.id, contract_id=contract.id),
                AggregationMember(aggregation_id=aggregation.id, meter_id=meter.id),
            ]
        self.plan.aggregation_rows = rows
